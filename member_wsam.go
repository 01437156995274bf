package sam

import "github.com/samgo/sam/tensor"

// WSAM (Yue et al., KDD 2023, "Sharpness-Aware Minimization Revisited: Weighted Sharpness as a
// Regularization Term") minimises L(w) + α·(max_{‖ε‖≤ρ} L(w+ε) − L(w)) with α = γ/(1−γ), the
// sharpness as a weighted regulariser. With g the gradient at w and g_p the gradient at w+ε
// (ε chosen as SAM's, so --p, --adaptive and --ascent-steps apply), in this order:
//
//	coupled (--wsam-decouple 0):   the base optimizer steps with α·g_p + (1−α)·g  (= g + α(g_p − g))
//	decoupled (--wsam-decouple 1): the base optimizer steps with g, then w ← w − lr·α·(g_p − g)
//
// The decoupled form is the paper's weight-decoupled implementation (the sharpness term bypasses
// the base optimizer's momentum and second moments, as AdamW's decay does, so that each step
// reflects only the current sharpness; the paper's ablation favours it); γ = 0.5 (α = 1) coupled is
// SAM, bit for bit, and decoupled around plain SGD without momentum it is SAM to round-off.
// --l2 is added to the gradient the base optimizer steps with (in both forms: outside the max).
// Checked against the authors' public code (atorch's WeightedSAM): the same two forms and the
// same order; that code also clips both gradients to a maximum norm (its max_norm), which the
// paper does not, so neither do we (use --clip for the base gradient). The default γ = 0.9 is
// the value in the authors' usage example, inside the range [0.8, 0.95] the paper finds stable.
func init() {
	Register(&Member{
		Name: "wsam", Title: "WSAM", Source: "Yue et al., KDD 2023",
		Summary: "sharpness as a weighted regulariser: update g + α(g_p − g), α = γ/(1−γ); decoupled: base step with g, then w ← w − lr·α(g_p − g)",
		Passes:  "2",
		Params: []Param{
			{Name: "wsam-gamma", Default: 0.9, Range: "[0,1)", Help: "wsam: weight γ of the sharpness term, α = γ/(1−γ) (0.5 with --wsam-decouple 0 is SAM)"},
			{Name: "wsam-decouple", Default: 1, Range: "[0,1]", Int: true, Help: "wsam: 1 = the sharpness term bypasses the base optimizer (w ← w − lr·α(g_p − g) after its step with g); 0 = the base optimizer steps with g + α(g_p − g)"},
		},
		New: func(c Config, p *Perturbation) Rule {
			gamma := c.Param("wsam-gamma")
			return &wsam{alpha: gamma / (1 - gamma), decouple: c.Param("wsam-decouple") == 1,
				g: make([]float32, p.Layout.Size())}
		},
	})
}

type wsam struct {
	alpha    float64
	decouple bool
	g        []float32 // the gradient at w
	sharp    []float32 // decoupled: g_p − g, for Finish
}

func (r *wsam) Gradient(s *Step) (float64, []float32) {
	g, gp := r.g, s.G
	l := s.Grad(gp, 0, s.N)
	tensor.Copy(g, gp)
	s.Ascend(gp, 0, s.N, s.Cfg.Rho) // gp ← ∇L(w+ε)
	if !r.decouple {
		// α·g(w+ε) + (1−α)·g, each product rounded, in vector passes over the threads.
		tensor.Scale(float32(r.alpha), gp)
		tensor.AddScaled(gp, gp, float32(1-r.alpha), g)
		return l, gp
	}
	tensor.AddScaled(gp, gp, -1, g) // g(w+ε) − g: −1·g is exact
	if !tensor.Finite(gp) {
		return l, gp // the core refuses the step
	}
	r.sharp = gp
	return l, g
}

// Finish implements Finisher: the decoupled sharpness step w ← w − lr·α·(g_p − g).
func (r *wsam) Finish(w []float32, lr float64) {
	if r.sharp != nil {
		tensor.Axpy(float32(-lr*r.alpha), r.sharp, w)
		r.sharp = nil
	}
}
