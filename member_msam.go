package sam

import (
	"errors"

	"github.com/samgo/sam/optim"
)

// Momentum-SAM (Becker, Altrock & Risse, 2024, arXiv 2401.12033): one pass per step, at a point
// perturbed along the base optimizer's momentum instead of the current gradient:
//
//	w̃_t = w_t − ρ·v_t/‖v_t‖,   g_t = ∇L_B(w̃_t),   then the base optimizer's step with g_t
//	(SGD: v_{t+1} = μv_t + g_t, w_{t+1} = w_t − η·v_{t+1})
//
// v_t is the momentum before this step's update (optim.Momentum: SGD's buffer, Adam's first
// moment, as the paper's "SGD or Adam"); before the first step v = 0 and ε = 0 (the authors' code
// starts with a zero buffer and a zero inverse norm). ‖v‖ gets the core's +1e-12, and ε is built
// by the shared Perturbation, so --p and --adaptive apply to v as they do to SAM's g. The pass
// at w̃ is a first pass (fresh dropout masks, BatchNorm statistics updated), and the loss it
// returns is L_B(w̃), the only loss the step computes. The authors' code keeps the weights at w̃
// between steps and moves back before the update; that is the same arithmetic up to round-off,
// here w stays unperturbed. ρ = 0 is the base optimizer; a base optimizer without momentum
// (SGD with --momentum 0) has v = 0 and is refused by BaseCheck.
func init() {
	Register(&Member{
		Name: "msam", Title: "Momentum-SAM", Source: "Becker et al., arXiv 2401.12033, 2024",
		Summary: "one pass, at w − ρ·v/‖v‖ with v the base optimizer's momentum",
		Passes:  "1",
		Check: func(c Config) error {
			if c.AscentSteps > 1 {
				return errors.New("--ascent-steps: msam takes no ascent step (ε comes from the momentum)")
			}
			return nil
		},
		BaseCheck: func(b optim.Config) error {
			if b.Name == "sgd" && b.Momentum == 0 {
				return errors.New("--momentum: msam perturbs along the base optimizer's momentum; give --opt sgd a --momentum > 0 (or use adam)")
			}
			return nil
		},
		New: func(Config, *Perturbation) Rule { return msam{} },
	})
}

type msam struct{}

func (msam) Gradient(s *Step) (float64, []float32) {
	var v []float32
	if m, ok := s.Base.(optim.Momentum); ok {
		v = m.MomentumBuffer()
	}
	if v == nil {
		return s.Grad(s.G, 0, s.N), s.G
	}
	s.Eps.Apply(s.WP, s.W, s.W, v, -s.Cfg.Rho)
	return s.Loss(s.WP, s.G, 0, s.N, false), s.G
}
