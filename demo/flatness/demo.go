package flatness

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config is what one run of the demo does. DefaultConfig gives the values of `sam demo flatness`.
type Config struct {
	Problem Problem   `json:"problem"`
	Seed    uint64    `json:"seed"`    // seeds the samples and the starting points
	Samples int       `json:"samples"` // examples per empirical loss, N
	Draws   int       `json:"draws"`   // number of empirical losses
	Rhos    []float64 `json:"rhos"`    // radii of the L^SAM figure (0 = L_S itself)
	Rho     float64   `json:"rho"`     // SAM's ρ for the trajectories
	LR      float64   `json:"lr"`      // learning rate of GD and SAM
	Steps   int       `json:"steps"`   // full-batch steps per trajectory
	Anneal  int       `json:"anneal"`  // the last Anneal steps of SAM use ρ = 0
	Starts  int       `json:"starts"`  // random starting points
	Grid    int       `json:"grid"`    // grid intervals over [Lo, Hi]
}

// DefaultConfig returns the demo's defaults.
func DefaultConfig() Config {
	return Config{
		Problem: DefaultProblem(),
		Seed:    1, Samples: 20, Draws: 10,
		Rhos: []float64{0, 0.05, 0.1, 0.2, 0.3, 0.5},
		Rho:  0.5, LR: 0.02, Steps: 800, Anneal: 200, Starts: 100,
		Grid: 4800, // spacing 0.0005, so that every ρ above is a whole number of grid steps
	}
}

// Validate reports the first setting a user can get wrong as a one-line error naming the flag.
func (c Config) Validate() error {
	switch {
	case c.Samples < 1:
		return fmt.Errorf("--samples: must be ≥ 1, got %d", c.Samples)
	case c.Samples > 1_000_000:
		return fmt.Errorf("--samples: at most 1000000, got %d", c.Samples)
	case c.Draws < 1:
		return fmt.Errorf("--draws: must be ≥ 1, got %d", c.Draws)
	case c.Draws > 1000:
		return fmt.Errorf("--draws: at most 1000, got %d", c.Draws)
	case c.Starts < 1 || c.Starts > 100_000:
		return fmt.Errorf("--starts: must be in [1, 100000], got %d", c.Starts)
	case math.IsNaN(c.Rho) || math.IsInf(c.Rho, 0) || c.Rho < 0:
		return fmt.Errorf("--rho: must be a finite number ≥ 0, got %g", c.Rho)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("--lr: must be a finite number > 0, got %g", c.LR)
	case c.Steps < 1 || c.Steps > 1_000_000:
		return fmt.Errorf("--steps: must be in [1, 1000000], got %d", c.Steps)
	case c.Anneal < 0 || c.Anneal > c.Steps:
		return fmt.Errorf("flatness: anneal must be in [0, steps], got %d", c.Anneal)
	case c.Grid < 100:
		return fmt.Errorf("flatness: grid must have ≥ 100 intervals, got %d", c.Grid)
	case len(c.Rhos) == 0:
		return errors.New("flatness: no ρ for the SAM objective")
	}
	span := c.Problem.Hi - c.Problem.Lo
	for _, r := range c.Rhos {
		if math.IsNaN(r) || r < 0 || r > span/4 {
			return fmt.Errorf("flatness: each ρ of the SAM objective must be in [0, %g], got %g", span/4, r)
		}
	}
	return c.Problem.Validate()
}

// MinimaStats is the population loss at one kind of minimum of every empirical loss.
type MinimaStats struct {
	W              []float64 `json:"w"`               // where each empirical loss has this minimum
	PopulationLoss []float64 `json:"population_loss"` // L_P there
	EmpiricalLoss  []float64 `json:"empirical_loss"`  // L_S there
	Mean           float64   `json:"mean"`            // of PopulationLoss
	Std            float64   `json:"std"`             // population standard deviation of PopulationLoss
}

// Increase is how much L^SAM exceeds L_S at the two minima of the first empirical loss.
type Increase struct {
	Rho   float64 `json:"rho"`
	Sharp float64 `json:"sharp_increase"`
	Flat  float64 `json:"flat_increase"`
}

// Summary is summary.json.
type Summary struct {
	Sharp           MinimaStats `json:"sharp"`
	Flat            MinimaStats `json:"flat"`
	SAMObjective    []Increase  `json:"sam_objective"`
	GDFlatFraction  float64     `json:"gd_flat_fraction"`
	SAMFlatFraction float64     `json:"sam_flat_fraction"`

	GDPopulationLoss  float64 `json:"gd_population_loss"`  // mean L_P at GD's end points
	SAMPopulationLoss float64 `json:"sam_population_loss"` // mean L_P at SAM's end points

	// SAMPopulationLossBeforeAnneal is the mean L_P where SAM stands when ρ drops to 0.
	SAMPopulationLossBeforeAnneal float64 `json:"sam_population_loss_before_anneal"`
	PopulationSharp               float64 `json:"population_sharp_minimum"`
	PopulationFlat                float64 `json:"population_flat_minimum"`
	Ridge                         float64 `json:"ridge"` // boundary between the basins of the first empirical loss
	Config                        Config  `json:"config"`
}

// Trajectory is one start of the GD-versus-SAM comparison.
type Trajectory struct {
	W0      float64
	GD, SAM []float64 // paths (Steps+1 points)
}

// Result holds everything the figures and the report need.
type Result struct {
	Config     Config
	Population Grid    // L_P on [Lo, Hi]
	PopSharp   float64 // the population's sharp and flat minima
	PopFlat    float64
	PopRidge   float64
	Empirical  []Empirical // the draws
	Curves     []Grid      // L_S of each draw on [Lo, Hi]
	Exact      []Grid      // L^SAM of draw 0, one per ρ in Config.Rhos, on [Lo, Hi]
	FirstOrder []Grid      // its first-order approximation, one per ρ
	Trajs      []Trajectory
	Summary    Summary
}

// Run computes the demo. It is deterministic for a Config.
func Run(c Config) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := c.Problem
	r := &Result{Config: c}

	// The population's two minima and the ridge between them.
	r.Population = tabulate(p.Population, p.Lo, p.Hi, c.Grid)
	mins := r.Population.localMinima()
	if len(mins) != 2 {
		return nil, fmt.Errorf("flatness: the population loss has %d local minima on [%g, %g], want 2", len(mins), p.Lo, p.Hi)
	}
	r.PopRidge = Ridge(r.Population, r.Population.W[mins[0]], r.Population.W[mins[1]])
	var err error
	if r.PopSharp, r.PopFlat, err = Minima(p.Population, r.Population, r.PopRidge); err != nil {
		return nil, err
	}

	// Empirical losses and their minima.
	rng := rand.New(rand.NewPCG(c.Seed, 0x5eed))
	s := &r.Summary
	for range c.Draws {
		e := Empirical{P: p, X: p.Sample(rng, c.Samples)}
		g := tabulate(e.Loss, p.Lo, p.Hi, c.Grid)
		ws, wf, err := Minima(e.Loss, g, r.PopRidge)
		if err != nil {
			return nil, err
		}
		r.Empirical = append(r.Empirical, e)
		r.Curves = append(r.Curves, g)
		for _, m := range []struct {
			st *MinimaStats
			w  float64
		}{{&s.Sharp, ws}, {&s.Flat, wf}} {
			m.st.W = append(m.st.W, m.w)
			m.st.PopulationLoss = append(m.st.PopulationLoss, p.Population(m.w))
			m.st.EmpiricalLoss = append(m.st.EmpiricalLoss, e.Loss(m.w))
		}
	}
	s.Sharp.Mean, s.Sharp.Std = meanStd(s.Sharp.PopulationLoss)
	s.Flat.Mean, s.Flat.Std = meanStd(s.Flat.PopulationLoss)
	s.PopulationSharp, s.PopulationFlat = p.Population(r.PopSharp), p.Population(r.PopFlat)

	// L^SAM of the first empirical loss: exact (sliding maximum over a grid that extends ρ_max
	// beyond [Lo, Hi]) and first-order.
	e0 := r.Empirical[0]
	rmax := 0.0
	for _, rho := range c.Rhos {
		rmax = max(rmax, rho)
	}
	h := (p.Hi - p.Lo) / float64(c.Grid)
	pad := int(math.Ceil(rmax/h - 1e-9))
	ext := tabulateSteps(e0.Loss, p.Lo, h, -pad, c.Grid+pad)
	for _, rho := range c.Rhos {
		r.Exact = append(r.Exact, clip(ExactSAM(ext, rho), p.Lo, p.Hi))
		r.FirstOrder = append(r.FirstOrder, FirstOrderSAM(e0.Grad, r.Curves[0], rho))
		if rho > 0 {
			s.SAMObjective = append(s.SAMObjective, Increase{
				Rho:   rho,
				Sharp: SAMIncrease(e0.Loss, s.Sharp.W[0], rho, 2000),
				Flat:  SAMIncrease(e0.Loss, s.Flat.W[0], rho, 2000),
			})
		}
	}

	// GD and SAM from random starting points on the first empirical loss.
	s.Ridge = Ridge(r.Curves[0], s.Sharp.W[0], s.Flat.W[0])
	srng := rand.New(rand.NewPCG(c.Seed, 0x57a7))
	var gdFlat, samFlat int
	for range c.Starts {
		w0 := p.Lo + (p.Hi-p.Lo)*srng.Float64()
		gd, err := Train(e0, w0, 0, c.LR, c.Steps, 0)
		if err != nil {
			return nil, err
		}
		sm, err := Train(e0, w0, c.Rho, c.LR, c.Steps, c.Steps-c.Anneal)
		if err != nil {
			return nil, err
		}
		r.Trajs = append(r.Trajs, Trajectory{W0: w0, GD: gd, SAM: sm})
		s.SAMPopulationLossBeforeAnneal += p.Population(sm[c.Steps-c.Anneal]) / float64(c.Starts)
		if gd[c.Steps] > s.Ridge {
			gdFlat++
		}
		if sm[c.Steps] > s.Ridge {
			samFlat++
		}
		s.GDPopulationLoss += p.Population(gd[c.Steps]) / float64(c.Starts)
		s.SAMPopulationLoss += p.Population(sm[c.Steps]) / float64(c.Starts)
	}
	s.GDFlatFraction = float64(gdFlat) / float64(c.Starts)
	s.SAMFlatFraction = float64(samFlat) / float64(c.Starts)
	s.Config = c
	return r, nil
}

// InFlatBasin reports whether w lies right of the ridge of the first empirical loss.
func (r *Result) InFlatBasin(w float64) bool { return w > r.Summary.Ridge }

// clip keeps the points of g inside [lo, hi] (with a little slack for rounding).
func clip(g Grid, lo, hi float64) Grid {
	eps := g.H * 1e-6
	out := Grid{H: g.H}
	for i, w := range g.W {
		if w >= lo-eps && w <= hi+eps {
			out.W = append(out.W, w)
			out.F = append(out.F, g.F[i])
		}
	}
	if len(out.W) > 0 {
		out.Lo = out.W[0]
	}
	return out
}

// meanStd returns the mean and the population standard deviation of v.
func meanStd(v []float64) (m, s float64) {
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)))
}
