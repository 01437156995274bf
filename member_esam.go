package sam

import (
	"cmp"
	"errors"
	"math"
	"slices"
)

// ESAM (Du et al., ICLR 2022), "Efficient SAM", with its two parts:
//   - stochastic weight perturbation: each coordinate of ε is kept with probability β (rounded to
//     a multiple of 2⁻¹⁶) and scaled by 1/β, from a mask stream seeded by Config.Seed;
//   - sharpness-sensitive data selection: after the first pass at w and ε, one forward pass at
//     w+ε gives each example's loss, and the gradient at w+ε is taken on the ⌈γn⌉ examples whose
//     loss rose most (ties: the earlier example). γ = 1 keeps every example (no per-example view
//     needed). β = γ = 1 is SAM, bit for bit.
func init() {
	Register(&Member{
		Name: "esam", Title: "ESAM", Source: "Du et al., ICLR 2022",
		Summary: "ε on a random β-fraction of the coordinates; second backward on the γ-fraction of examples whose loss rose most",
		Passes:  "2 forward, 1 + γ backward",
		Seeded:  true,
		Params: []Param{
			{Name: "esam-beta", Default: 0.6, Range: "[2^-16,1]", Help: "esam: probability of keeping each coordinate of ε (stochastic weight perturbation)"},
			{Name: "esam-gamma", Default: 0.5, Range: "(0,1]", Help: "esam: fraction of examples whose loss rose most from w to w+ε that the second backward pass uses (sharpness-sensitive data selection; 1 = all)"},
		},
		Check: func(c Config) error {
			if c.Param("esam-gamma") != 1 && c.AscentSteps > 1 {
				return errors.New("--ascent-steps: esam's data selection (--esam-gamma < 1) takes one ascent step")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			if beta := c.Param("esam-beta"); beta < 1 {
				p.Mask = NewMask(p.Layout.Size(), beta, c.Seed)
			}
			if gamma := c.Param("esam-gamma"); gamma < 1 {
				return &esam{gamma: gamma}
			}
			return &plain{}
		},
	})
}

type esam struct {
	gamma         float64
	before, after []float32 // per-example losses at w and at w+ε
	rank          []int     // examples, by how much their loss rose
}

func (r *esam) Gradient(s *Step) (float64, []float32) {
	ex, n := s.Ex, s.N
	if ex == nil {
		panic("sam: esam with --esam-gamma < 1 needs per-example losses: call StepExamples")
	}
	l := s.Grad(s.G, 0, n)
	r.before, r.after = grow(r.before, n), grow(r.after, n)
	ex.Losses(r.before)
	s.Eps.Apply(s.WP, s.W, s.W, s.G, s.Cfg.Rho)
	ex.Forward(s.WP)
	ex.Losses(r.after)
	r.rank = r.rank[:0]
	for i := range n {
		r.rank = append(r.rank, i)
	}
	slices.SortStableFunc(r.rank, func(i, j int) int {
		return cmp.Compare(r.after[j]-r.before[j], r.after[i]-r.before[i])
	})
	k := min(n, max(1, int(math.Ceil(r.gamma*float64(n)-1e-9))))
	sel := r.rank[:k]
	slices.Sort(sel)
	ex.Backward(s.WP, s.G, sel)
	return l, s.G
}
