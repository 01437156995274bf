package sam

import "github.com/samgo/sam/tensor"

// SAM (Foret et al., ICLR 2021): ε = ρ·g/‖g‖ from the gradient g at w, then the gradient at w+ε
// on the same mini-batch. With m-sharpness (--m, the paper's §4.1) each chunk of m examples takes
// its own ε and the chunks' gradients at their w+ε are averaged, weighted by chunk size.
func init() {
	Register(&Member{
		Name: "sam", Title: "SAM", Source: "Foret et al., ICLR 2021",
		Summary:    "gradient at w + ρ·g/‖g‖ (any p-norm; ASAM with --adaptive; m-sharpness with --m)",
		Passes:     "2",
		MSharpness: true,
		New:        func(Config, *Perturbation) Rule { return &plain{} },
	})
}

// plain is SAM's rule, with m-sharpness; USAM and SAM-ON are this rule with another ε.
type plain struct {
	acc []float32 // m-sharpness: the running average of the chunks' gradients
}

func (r *plain) Gradient(s *Step) (float64, []float32) {
	n, m := s.N, s.Cfg.M
	if m <= 0 || m >= n {
		l := s.Grad(s.G, 0, n)
		s.Ascend(s.G, 0, n, s.Cfg.Rho)
		return l, s.G
	}
	if r.acc == nil {
		r.acc = make([]float32, len(s.G))
	}
	var l float64
	for lo := 0; lo < n; lo += m {
		hi := min(lo+m, n)
		l += s.Grad(s.G, lo, hi) * float64(hi-lo) / float64(n)
		s.Ascend(s.G, lo, hi, s.Cfg.Rho)
		f := float32(hi-lo) / float32(n)
		if lo == 0 {
			tensor.Copy(r.acc, s.G)
			tensor.Scale(f, r.acc) // f·g, the first chunk's share
		} else {
			tensor.Axpy(f, s.G, r.acc)
		}
	}
	return l, r.acc
}
