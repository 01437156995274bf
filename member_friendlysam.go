package sam

import (
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// FriendlySAM (Li et al., CVPR 2024, "Friendly Sharpness-Aware Minimization", F-SAM): the full
// gradient's component in SAM's ascent direction does not help generalisation, so F-SAM removes
// an estimate of it, an exponential moving average m of past mini-batch gradients. In the order
// of the authors' code (nblt/F-SAM, FriendlySAM.first_step), at step t with g_t = ∇L(w_t):
//
//	first step:   d = g_1,                 m ← g_1
//	later steps:  d = g_t − σ·m,            then m ← λ·m + (1−λ)·g_t
//	ε = ρ·d/‖d‖ (any --p, --adaptive as for SAM); the update is g_p = ∇L(w+ε)
//
// so the direction uses the average of the gradients before this step, and the average starts
// at the first gradient (not at zero). σ = 0 is SAM, bit for bit. The defaults σ = 1, λ = 0.9
// are the code's defaults (its run script uses λ = 0.95 on CIFAR-100). m is state: it is saved
// in checkpoints. A step whose first gradient is not finite leaves m as it was. With
// --ascent-steps k > 1 (not in the paper) the first ascent step goes along d, the later ones along
// the gradient at the current w+ε, as for SAM.
func init() {
	Register(&Member{
		Name: "friendlysam", Title: "FriendlySAM", Source: "Li et al., CVPR 2024",
		Summary: "ε along g − σ·m, m an exponential average of past gradients (λ), the full-gradient component removed",
		Passes:  "2",
		Params: []Param{
			{Name: "fsam-sigma", Default: 1, Range: "[0,inf)", Help: "friendlysam: weight σ of the gradient average removed from the ascent direction (0 = SAM)"},
			{Name: "fsam-lambda", Default: 0.9, Range: "[0,1]", Help: "friendlysam: decay λ of the gradient average m ← λm + (1−λ)g"},
		},
		New: func(c Config, p *Perturbation) Rule {
			return &friendlySAM{sigma: float32(c.Param("fsam-sigma")), lambda: float32(c.Param("fsam-lambda")),
				m: make([]float32, p.Layout.Size())}
		},
	})
}

type friendlySAM struct {
	sigma, lambda float32
	m             []float32 // the average of past gradients
	have          bool      // m holds a gradient
}

func (r *friendlySAM) Gradient(s *Step) (float64, []float32) {
	g, m := s.G, r.m
	l := s.Grad(g, 0, s.N)
	if !tensor.Finite(g) {
		return l, g // the core refuses the step; m stays as it was
	}
	if !r.have {
		copy(m, g)
		r.have = true
	} else {
		sg, lm, lg := r.sigma, r.lambda, 1-r.lambda
		tensor.Parallel(len(g), loopGrain, func(lo, hi int) {
			for i, x := range g[lo:hi] {
				mi := m[lo+i]
				g[lo+i] = x - sg*mi
				m[lo+i] = lm*mi + lg*x
			}
		})
	}
	s.Ascend(g, 0, s.N, s.Cfg.Rho) // g ← ∇L(w+ε)
	return l, g
}

// SaveState implements optim.Stateful: the gradient average m.
func (r *friendlySAM) SaveState(s *optim.State, prefix string) { putKept(s, prefix+"m", r.m, r.have) }

// LoadState implements optim.Stateful.
func (r *friendlySAM) LoadState(s *optim.State, prefix string) (err error) {
	r.have, err = loadKept(s, prefix+"m", r.m)
	return err
}
