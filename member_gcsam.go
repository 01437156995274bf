package sam

import (
	"errors"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// GCSAM (Hassan et al., arXiv 2501.11584, 2025): SAM whose ascent direction is the gradient
// centralised as in Gradient Centralization (Yong et al., ECCV 2020). In this order:
//
//	g     = ∇L(w)
//	Φ(g)  = g with, in every parameter tensor of rank ≥ 2 (a dense weight [out, in], a
//	        convolution [out, in, k, k]), the mean of each output unit's slice subtracted:
//	        Φ(g)[o, …] = g[o, …] − mean(g[o, :]); tensors of rank 1 (biases, normalisation
//	        layers) are left as they are
//	ε     = ρ·Φ(g)/‖Φ(g)‖ (any --p, ASAM's --adaptive scaling as for SAM)
//	update: the base optimizer steps with g_p = ∇L(w+ε), or with Φ(g_p) when --gcsam-descent 1
//
// The means are taken in float64 and subtracted in float32. A model without tensors of rank ≥ 2
// is SAM, bit for bit. The paper's abstract says GCSAM centralises "before the ascent step",
// which is the default; one public description of the method (not the authors' code, which we
// could not read) also centralises the descent gradient, as Gradient Centralization itself does
// for the update: --gcsam-descent 1 does that. It takes one ascent step (the centralised
// direction is defined for the first gradient only).
func init() {
	Register(&Member{
		Name: "gcsam", Title: "GCSAM", Source: "Hassan et al., arXiv 2501.11584; Yong et al., ECCV 2020",
		Summary: "ε along the gradient centralised per output unit (each weight tensor of rank ≥ 2 minus its row means)",
		Passes:  "2",
		Params: []Param{
			{Name: "gcsam-descent", Default: 0, Range: "[0,1]", Int: true, Help: "gcsam: 1 = also centralise the gradient at w+ε that the base optimizer steps with"},
		},
		Check: func(c Config) error {
			if c.AscentSteps > 1 {
				return errors.New("--ascent-steps: gcsam centralises the first gradient only; it takes one ascent step")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			return &gcsam{layout: p.Layout, descent: c.Param("gcsam-descent") == 1}
		},
	})
}

type gcsam struct {
	layout  *param.Layout
	descent bool
}

func (r *gcsam) Gradient(s *Step) (float64, []float32) {
	l := s.Grad(s.G, 0, s.N)
	centralize(s.G, r.layout)
	s.Ascend(s.G, 0, s.N, s.Cfg.Rho)
	if r.descent {
		centralize(s.G, r.layout)
	}
	return l, s.G
}

// centralize subtracts from g, in each span of rank ≥ 2, the mean of each output unit's slice
// (the span's first dimension), accumulated in float64.
func centralize(g []float32, layout *param.Layout) {
	for _, sp := range layout.Spans {
		if len(sp.Shape) < 2 || sp.Shape[0] == 0 {
			continue
		}
		gs := sp.Of(g)
		k := len(gs) / sp.Shape[0]
		tensor.Parallel(sp.Shape[0], max(1, loopGrain/k), func(lo, hi int) { // rows, over the threads
			for o := lo * k; o < hi*k; o += k {
				row := gs[o : o+k]
				var sum float64
				for _, x := range row {
					sum += float64(x)
				}
				m := float32(sum / float64(k))
				for i := range row {
					row[i] -= m
				}
			}
		})
	}
}
