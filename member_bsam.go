package sam

import (
	"errors"
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// bSAM (Möllenhoff & Khan, ICLR 2023, "SAM as an optimal relaxation of Bayes"): SAM as the
// mean update of a Gaussian posterior N(w, 1/(N·s)) with a learned per-coordinate precision s,
// an Adam-like optimizer with noisy perturbations. One step, all operations per coordinate:
//
//	θ   = w + e,  e ~ N(0, 1/(N·s))           a sample of the posterior
//	g   = ∇L_B(θ)                             (first pass; its loss is returned)
//	ε   = ρ·g/s                               (no normalisation)
//	g_ε = ∇L_B(w + ε)                         (second pass)
//	g_m ← β₁·g_m + (1−β₁)·(g_ε + δ·w)
//	s   ← β₂·s + (1−β₂)·(√s·|g| + δ + γ)
//	w   ← w − lr·g_m/s
//
// with δ = --bsam-prior / N (the prior precision per example, as the authors' train.py),
// γ = --bsam-damping, s₀ = --bsam-s0, N = --bsam-n (the number of training examples, times an
// augmentation factor if any; the authors use 4 for CIFAR). The order is the paper's
// Algorithm 1: s is updated first and the mean step divides by the new s; the authors' JAX code
// (optim.py) divides by the s of before the update; we follow the paper. The authors also split
// each batch into 8 independent perturbations (m-sharpness), which this member does not do.
//
// How it fits the family: bSAM replaces the base optimizer (its g_m and s are Adam's two
// moments), so it makes the update itself (Updater) and never calls the base optimizer. The
// command line requires --opt sgd without --momentum, --nesterov, --weight-decay and --clip
// (BaseCheck), so that no base-optimizer flag is silently ignored, and refuses --l2 (δ is its
// prior). Its own state g_m and s is saved with checkpoints; the noise is drawn from a stream
// seeded by Config.Seed and the step number. ρ = 0 is still bSAM (a noisy Adam-like method,
// RhoFree), not the base optimizer.
func init() {
	Register(&Member{
		Name: "bsam", Title: "bSAM", Source: "Möllenhoff & Khan, ICLR 2023",
		Summary: "Bayesian SAM: g at w + N(0, 1/(N·s)), g_ε at w + ρ·g/s; Adam-like w ← w − lr·g_m/s with learned precision s",
		Passes:  "2",
		Seeded:  true,
		RhoFree: true,
		Params: []Param{
			{Name: "bsam-n", Default: 50000, Range: "[1,inf)", Help: "bsam: N, the number of training examples (times the augmentation factor); the noise variance is 1/(N·s)"},
			{Name: "bsam-prior", Default: 10, Range: "[0,inf)", Help: "bsam: prior precision; δ = prior/N enters g_m (δ·w) and s (δ)"},
			{Name: "bsam-damping", Default: 0.1, Range: "[0,inf)", Help: "bsam: damping γ added to the precision s"},
			{Name: "bsam-s0", Default: 1, Range: "(0,inf)", Help: "bsam: initial precision s"},
			{Name: "bsam-beta1", Default: 0.9, Range: "[0,1)", Help: "bsam: decay β₁ of the mean gradient g_m"},
			{Name: "bsam-beta2", Default: 0.999, Range: "[0,1)", Help: "bsam: decay β₂ of the precision s"},
		},
		Check: func(c Config) error {
			switch {
			case c.L2 != 0:
				return errors.New("--l2: bsam's L2 term is its prior: use --bsam-prior")
			case c.AscentSteps > 1:
				return errors.New("--ascent-steps: bsam takes one ascent step")
			case c.Adaptive || c.P != 0 && c.P != 2:
				return errors.New("--adaptive/--p: bsam's ε = ρ·g/s has its own scaling")
			case c.Param("bsam-prior") == 0 && c.Param("bsam-damping") == 0:
				return errors.New("--bsam-damping: must be > 0 when --bsam-prior is 0 (s must stay positive)")
			}
			return nil
		},
		BaseCheck: func(b optim.Config) error {
			const why = "bsam is its own Adam-like optimizer (--bsam-beta1, --bsam-beta2) and makes the update itself: "
			switch {
			case b.Name != "sgd":
				return errors.New("--opt: " + why + "use --opt sgd")
			case b.Momentum != 0 || b.Nesterov:
				return errors.New("--momentum: " + why + "leave --momentum 0 (use --bsam-beta1)")
			case b.WeightDecay != 0:
				return errors.New("--weight-decay: " + why + "leave it 0 (use --bsam-prior)")
			case b.Clip != 0:
				return errors.New("--clip: " + why + "leave it 0")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			n := c.Param("bsam-n")
			return &bsam{n: n, delta: c.Param("bsam-prior") / n, damping: c.Param("bsam-damping"), s0: c.Param("bsam-s0"),
				b1: c.Param("bsam-beta1"), b2: c.Param("bsam-beta2"), rho: c.Rho, seed: c.Seed, size: p.Layout.Size()}
		},
	})
}

type bsam struct {
	n, delta, damping, s0, b1, b2, rho float64
	seed                               uint64
	size                               int       // parameters
	gm, s                              []float32 // the state: mean gradient g_m and precision s
	g, z                               []float32 // scratch: the gradient at θ, the normal draws
}

var _ Updater = (*bsam)(nil)

func (r *bsam) Gradient(s *Step) (float64, []float32) {
	n := len(s.W)
	if r.s == nil {
		r.gm, r.s = make([]float32, n), make([]float32, n)
		for i := range r.s {
			r.s[i] = float32(r.s0)
		}
	}
	r.g, r.z = grow(r.g, n), grow(r.z, n)
	normals(r.z, r.seed, s.T)
	tensor.Parallel(n, loopGrain, func(lo, hi int) {
		for i, x := range s.W[lo:hi] {
			s.WP[lo+i] = x + r.z[lo+i]/float32(math.Sqrt(r.n*float64(r.s[lo+i])))
		}
	})
	l := s.Loss(s.WP, r.g, 0, s.N, false)
	if !tensor.Finite(r.g) {
		return math.NaN(), r.g
	}
	rho := float32(r.rho)
	tensor.Parallel(n, loopGrain, func(lo, hi int) {
		for i, x := range s.W[lo:hi] {
			s.WP[lo+i] = x + rho*r.g[lo+i]/r.s[lo+i]
		}
	})
	s.Loss(s.WP, s.G, 0, s.N, true)
	return l, s.G
}

// Update implements Updater: the moments and the mean step (the base optimizer is not used).
func (r *bsam) Update(s *Step, w, ge []float32) {
	b1, b2 := float32(r.b1), float32(r.b2)
	delta, add := float32(r.delta), float32(r.delta+r.damping)
	lr := float32(s.LR)
	tensor.Parallel(len(w), loopGrain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			x := w[i]
			r.gm[i] = b1*r.gm[i] + (1-b1)*(ge[i]+delta*x)
			si := r.s[i]
			si = b2*si + (1-b2)*(float32(math.Sqrt(float64(si)))*abs32(r.g[i])+add)
			r.s[i] = si
			w[i] = x - lr*r.gm[i]/si
		}
	})
}

// SaveState implements optim.Stateful: g_m and s, once there are any.
func (r *bsam) SaveState(st *optim.State, prefix string) {
	st.PutVector(prefix+"gm", r.gm)
	st.PutVector(prefix+"s", r.s)
}

// LoadState implements optim.Stateful.
func (r *bsam) LoadState(st *optim.State, prefix string) error {
	gm, err := st.Vector(prefix+"gm", r.size)
	if err != nil {
		return err
	}
	s, err := st.Vector(prefix+"s", r.size)
	if err != nil {
		return err
	}
	if (gm == nil) != (s == nil) {
		return errors.New("sam: bsam state needs both gm and s")
	}
	r.gm, r.s = gm, s
	return nil
}
