package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// AscentOptions tune the sharpness maximisations.
type AscentOptions struct {
	Steps int     // ascent steps after the first; 0 means 10
	Step  float64 // step length as a fraction of the radius (ρ, or the box half-widths); 0 means 0.5
	// Restarts adds ε-sharpness ascents from seeded random vertices of the box (Keskar et al.
	// restart their maximiser too); the best is reported.
	Restarts int
	Seed     uint64
	// Mask, when not nil, restricts the perturbation to the parameters i with Mask[i] (the
	// others stay at w): the sharpness of the loss as a function of those parameters alone.
	Mask []bool
}

// masked zeroes the entries of g outside the mask.
func (a AscentOptions) masked(g []float64) {
	if a.Mask == nil {
		return
	}
	for i, keep := range a.Mask {
		if !keep {
			g[i] = 0
		}
	}
}

func (a AscentOptions) check(n int) error {
	if a.Mask != nil && len(a.Mask) != n {
		return fmt.Errorf("sharpness: a mask of %d entries for %d parameters", len(a.Mask), n)
	}
	return nil
}

func (a AscentOptions) steps() int {
	if a.Steps <= 0 {
		return 10
	}
	return a.Steps
}

func (a AscentOptions) step() float64 {
	if a.Step <= 0 {
		return 0.5
	}
	return a.Step
}

// SAMResult is a SAM-sharpness measurement.
type SAMResult struct {
	Loss      float64 // L(w)
	Sharpness float64 // max over the iterates of L(w+ε) − L(w), ‖ε‖₂ ≤ ρ
	OneStep   float64 // L(w+ρg/‖g‖) − L(w), SAM's first-order estimate (the first iterate)
	Gradients int     // gradient evaluations over the whole set
}

// SAMSharpness estimates max_{‖ε‖₂≤ρ} L(w+ε) − L(w) by projected normalised gradient ascent:
// ε₀ = ρ·g/‖g‖ (SAM's first-order maximiser), then ε ← Π(ε + s·ρ·∇L(w+ε)/‖∇L(w+ε)‖) onto the
// ball, keeping the best iterate. The result is a lower bound of the true maximum.
func SAMSharpness(o *Objective, w []float32, rho float64, opt AscentOptions) (SAMResult, error) {
	if err := checkRadius("--rho", rho); err != nil {
		return SAMResult{}, err
	}
	if len(w) != o.Dim() {
		return SAMResult{}, fmt.Errorf("sharpness: %d weights, the model has %d parameters", len(w), o.Dim())
	}
	if err := opt.check(len(w)); err != nil {
		return SAMResult{}, err
	}
	r := samRange(o, w, rho, opt, 0, o.N())
	return r, nil
}

// MSharpness is SAM sharpness averaged over the disjoint batches of m consecutive examples of
// the set (each batch with its own ε), the m-sharpness of Foret et al. A last batch shorter
// than m is included, weighted by its size.
func MSharpness(o *Objective, w []float32, rho float64, m int, opt AscentOptions) (SAMResult, error) {
	if err := checkRadius("--rho", rho); err != nil {
		return SAMResult{}, err
	}
	if m <= 0 {
		return SAMResult{}, fmt.Errorf("--m: must be > 0, got %d", m)
	}
	if len(w) != o.Dim() {
		return SAMResult{}, fmt.Errorf("sharpness: %d weights, the model has %d parameters", len(w), o.Dim())
	}
	if err := opt.check(len(w)); err != nil {
		return SAMResult{}, err
	}
	var out SAMResult
	n := float64(o.N())
	for lo := 0; lo < o.N(); lo += m {
		hi := min(lo+m, o.N())
		r := samRange(o, w, rho, opt, lo, hi)
		f := float64(hi-lo) / n
		out.Loss += f * r.Loss
		out.Sharpness += f * r.Sharpness
		out.OneStep += f * r.OneStep
		out.Gradients += r.Gradients * (hi - lo)
	}
	out.Gradients = (out.Gradients + o.N() - 1) / o.N() // in passes over the whole set
	return out, nil
}

func checkRadius(flag string, r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r <= 0 {
		return fmt.Errorf("%s: must be a finite number > 0, got %g", flag, r)
	}
	return nil
}

func samRange(o *Objective, w []float32, rho float64, opt AscentOptions, from, to int) SAMResult {
	n := len(w)
	g := make([]float64, n)
	eps := make([]float64, n)
	wp := make([]float32, n)
	l0 := o.lossGradRange(w, g, from, to)
	opt.masked(g)
	res := SAMResult{Loss: l0, Gradients: 1}
	gn := norm(g)
	if gn == 0 {
		return res
	}
	for i := range eps {
		eps[i] = rho * g[i] / gn
	}
	best := math.Inf(-1)
	for it := 0; it <= opt.steps(); it++ {
		for i, x := range w {
			wp[i] = float32(float64(x) + eps[i])
		}
		var l float64
		if it < opt.steps() {
			l = o.lossGradRange(wp, g, from, to)
			opt.masked(g)
			res.Gradients++
		} else {
			l, _ = o.lossRange(wp, from, to)
		}
		if it == 0 {
			res.OneStep = l - l0
		}
		best = max(best, l)
		if it == opt.steps() {
			break
		}
		gn := norm(g)
		if gn == 0 {
			break
		}
		axpy(opt.step()*rho/gn, g, eps)
		if en := norm(eps); en > rho {
			scale(eps, rho/en)
		}
	}
	res.Sharpness = best - l0
	return res
}

// EpsResult is an ε-sharpness measurement.
type EpsResult struct {
	Loss      float64 // L(w)
	Max       float64 // the largest loss found in the box
	Sharpness float64 // 100·(Max − L(w)) / (1 + L(w))
	Gradients int
}

// EpsSharpness is Keskar et al.'s ε-sharpness 100·(max_{y∈C} L(w+y) − L(w)) / (1 + L(w)) with
// C = {|yᵢ| ≤ ε(|wᵢ|+1)}, maximised by projected sign-gradient ascent in the box: y₀ = the
// corner sign(g)·ε(|w|+1) that maximises the linearised loss, then y ← clip(y + s·ε(|w|+1)·sign(∇L(w+y))),
// keeping the best iterate (a lower bound of the maximum), and likewise from opt.Restarts random
// vertices.
func EpsSharpness(o *Objective, w []float32, epsilon float64, opt AscentOptions) (EpsResult, error) {
	if err := checkRadius("--eps", epsilon); err != nil {
		return EpsResult{}, err
	}
	if len(w) != o.Dim() {
		return EpsResult{}, fmt.Errorf("sharpness: %d weights, the model has %d parameters", len(w), o.Dim())
	}
	if err := opt.check(len(w)); err != nil {
		return EpsResult{}, err
	}
	n := len(w)
	g := make([]float64, n)
	y := make([]float64, n)
	box := make([]float64, n)
	wp := make([]float32, n)
	for i, x := range w {
		if opt.Mask == nil || opt.Mask[i] {
			box[i] = epsilon * (math.Abs(float64(x)) + 1)
		}
	}
	g0 := make([]float64, n)
	l0 := o.LossGrad(w, g0)
	res := EpsResult{Loss: l0, Max: l0, Gradients: 1}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xe95))
	for start := 0; start <= opt.Restarts; start++ {
		// The first start is the vertex that maximises the linearised loss, sign(∇L(w)); the
		// others are random vertices.
		copy(g, g0)
		clear(y)
		if start > 0 {
			for i := range g {
				g[i] = float64(2*int(rng.Uint32()&1) - 1)
			}
		}
		for it := 0; it <= opt.steps(); it++ {
			s := opt.step()
			if it == 0 {
				s = 1
			}
			for i := range y {
				y[i] = math.Max(-box[i], math.Min(box[i], y[i]+s*box[i]*sign(g[i])))
				wp[i] = float32(float64(w[i]) + y[i])
			}
			var l float64
			if it < opt.steps() {
				l = o.LossGrad(wp, g)
				res.Gradients++
			} else {
				l, _ = o.Loss(wp)
			}
			res.Max = max(res.Max, l)
		}
	}
	res.Sharpness = 100 * (res.Max - l0) / (1 + l0)
	return res, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}
