package sam

import (
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// VaSSO (Li & Giannakis, NeurIPS 2023, "Enhancing Sharpness-Aware Optimization Through Variance
// Suppression"): SAM's ascent direction, a single mini-batch gradient, is noisy; VaSSO takes ε
// along a running average d of the gradients instead. In the order of the authors' code
// (VASSO.first_step), at step t with g_t = ∇L(w_t):
//
//	first step:   d ← g_1
//	later steps:  d ← (1−θ)·d + θ·g_t
//	ε = ρ·d/‖d‖ (any --p, --adaptive as for SAM); the update is g_p = ∇L(w+ε)
//
// θ = 1 is SAM, bit for bit. The authors' code adds 1e-7 to ‖d‖; we add SAM's 1e-12 so that the
// limit is exact (the difference is below float32 resolution unless ‖d‖ is tiny). The default
// θ = 0.4 is the paper's CIFAR setting as we read it (not checked against the authors' configs,
// which we could not read). d is state: it is saved in checkpoints. A step whose first gradient
// is not finite leaves d as it was. With --ascent-steps k > 1 (not in the paper) the first ascent
// step goes along d, the later ones along the gradient at the current w+ε, as for SAM.
func init() {
	Register(&Member{
		Name: "vasso", Title: "VaSSO", Source: "Li & Giannakis, NeurIPS 2023",
		Summary: "ε along d = (1−θ)·d + θ·g, a running average of the gradients (variance suppression)",
		Passes:  "2",
		Params: []Param{
			{Name: "vasso-theta", Default: 0.4, Range: "(0,1]", Help: "vasso: weight θ of the new gradient in the ascent direction d ← (1−θ)d + θg (1 = SAM)"},
		},
		New: func(c Config, p *Perturbation) Rule {
			return &vasso{theta: float32(c.Param("vasso-theta")), d: make([]float32, p.Layout.Size())}
		},
	})
}

type vasso struct {
	theta float32
	d     []float32 // the averaged ascent direction
	have  bool      // d holds a direction
}

func (r *vasso) Gradient(s *Step) (float64, []float32) {
	g, d := s.G, r.d
	l := s.Grad(g, 0, s.N)
	if !tensor.Finite(g) {
		return l, g // the core refuses the step; d stays as it was
	}
	if !r.have {
		copy(d, g)
		r.have = true
	} else {
		// d ← (1−θ)·d + θ·g, each product rounded, in vector passes over the threads.
		tensor.Scale(1-r.theta, d)
		tensor.AddScaled(d, d, r.theta, g)
		tensor.Copy(g, d)
	}
	s.Ascend(g, 0, s.N, s.Cfg.Rho) // g ← ∇L(w+ε)
	return l, g
}

// SaveState implements optim.Stateful: the direction d.
func (r *vasso) SaveState(s *optim.State, prefix string) { putKept(s, prefix+"d", r.d, r.have) }

// LoadState implements optim.Stateful.
func (r *vasso) LoadState(s *optim.State, prefix string) (err error) {
	r.have, err = loadKept(s, prefix+"d", r.d)
	return err
}
