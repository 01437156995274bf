package sam

import (
	"errors"
	"math"

	"github.com/samgo/sam/tensor"
)

// Fisher SAM (Kim, Li, Hu & Hospedales, ICML 2022, "Fisher SAM: Information Geometry and
// Sharpness Aware Minimisation"): the neighbourhood is an ellipsoid of the Fisher information
// metric, ε ᵀF ε ≤ ρ², instead of a Euclidean ball. With the diagonal Fisher estimated from the
// mini-batch gradient g = ∇L(w), in this order:
//
//	f   = 1 + η·g∘g                      (elementwise; the identity plus η times the estimate)
//	ε   = ρ·(g/f)/√(g·(g/f))             (the maximiser of gᵀε on εᵀdiag(f)ε ≤ ρ²; +1e-12 as SAM)
//	update: the base optimizer steps with g_p = ∇L(w+ε)
//
// η = 0 is SAM, bit for bit (f = 1 exactly; see the test). Sums are taken in float64.
// The authors' code was not in our index; a public third-party implementation computes the same
// f and ε (its γ is our ρ). The default η = 1 is that code's default. The ellipsoid replaces
// SAM's p-norm ball and ASAM's scaling, so --p, --adaptive and --ascent-steps are refused.
func init() {
	Register(&Member{
		Name: "fishersam", Title: "Fisher SAM", Source: "Kim et al., ICML 2022",
		Summary: "ε = ρ·f⁻¹g/√(gᵀf⁻¹g) with f = 1 + η·g² (a diagonal Fisher estimate): ascent in the Fisher metric",
		Passes:  "2",
		Params: []Param{
			{Name: "fisher-eta", Default: 1, Range: "[0,inf)", Help: "fishersam: weight η of the diagonal Fisher estimate g² in f = 1 + η·g² (0 = SAM)"},
		},
		Check: func(c Config) error {
			switch {
			case c.P != 0 && c.P != 2:
				return errors.New("--p: fishersam's neighbourhood is the Fisher ellipsoid; leave p = 2")
			case c.Adaptive:
				return errors.New("--adaptive: fishersam scales ε by the Fisher estimate, not by ASAM's |w|")
			case c.AscentSteps > 1:
				return errors.New("--ascent-steps: fishersam takes one ascent step")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			return &fisherSAM{eta: float32(c.Param("fisher-eta")), d: make([]float32, p.Layout.Size())}
		},
	})
}

type fisherSAM struct {
	eta float32
	d   []float32 // f⁻¹g
}

func (r *fisherSAM) Gradient(s *Step) (float64, []float32) {
	g, d := s.G, r.d
	l := s.Grad(g, 0, s.N)
	eta := r.eta
	tensor.Parallel(len(g), loopGrain, func(lo, hi int) {
		for i, x := range g[lo:hi] {
			d[lo+i] = x / (1 + eta*x*x)
		}
	})
	c := float32(s.Cfg.Rho / (math.Sqrt(tensor.Dot64(g, d)) + 1e-12))
	tensor.AddScaled(s.WP, s.W, c, d)
	s.Loss(s.WP, g, 0, s.N, true)
	return l, g
}
