package sam

import (
	"fmt"

	"github.com/samgo/sam/tensor"
)

// GSAM (Zhuang et al., ICLR 2022): the gradient g at w and g_p at w+ε, update g_p − α·g_⊥ with
// g_⊥ = g − (g·g_p/‖g_p‖²)·g_p, the part of g orthogonal to g_p, which lowers the surrogate gap
// L(w+ε) − L(w) without raising L(w+ε). ρ follows the learning rate linearly, from --rho-min at the
// run's smallest learning rate up to --rho at its largest (constant when they are equal).
// α = 0 with a constant ρ is SAM.
func init() {
	Register(&Member{
		Name: "gsam", Title: "GSAM", Source: "Zhuang et al., ICLR 2022",
		Summary: "update g_p − α·g_⊥ (g_⊥: g orthogonal to g_p); ρ follows the learning rate",
		Passes:  "2",
		Params: []Param{
			{Name: "gsam-alpha", Default: 0.1, Range: "(-inf,inf)", Help: "gsam: weight α of the surrogate-gap term (update g_p − α·g_⊥)"},
			{Name: "rho-min", FollowsRho: true, Range: "[0,inf)", Help: "gsam: ρ at the smallest learning rate; ρ follows the schedule up to --rho (default: --rho, constant)"},
		},
		Check: func(c Config) error {
			if r := c.Param("rho-min"); r > c.Rho {
				return fmt.Errorf("--rho-min: must be in [0, --rho], got %g", r)
			}
			return nil
		},
		New: func(c Config, _ *Perturbation) Rule {
			return &gsam{alpha: float32(c.Param("gsam-alpha")), rhoMin: c.Param("rho-min")}
		},
	})
}

type gsam struct {
	alpha  float32
	rhoMin float64
	g      []float32 // the gradient at w
}

func (r *gsam) Gradient(s *Step) (float64, []float32) {
	c := s.Cfg
	rho := c.Rho
	if c.LRMax > c.LRMin {
		rho = r.rhoMin + (c.Rho-r.rhoMin)*(s.LR-c.LRMin)/(c.LRMax-c.LRMin)
	}
	if r.g == nil {
		r.g = make([]float32, len(s.G))
	}
	g, gp := r.g, s.G
	l := s.Grad(g, 0, s.N)
	s.ascendTo(gp, g, 0, s.N, rho) // gp ← ∇L(w+ε)
	if r.alpha == 0 {
		return l, gp
	}
	// g_p − α·(g − k·g_p), elementwise in the vector kernel: the same bits on any thread count
	tensor.GSAMCombine(gp, g, r.alpha, projection(g, gp))
	return l, gp
}
