package sam

import (
	"errors"

	"github.com/samgo/sam/tensor"
)

// RWP (Li et al., TMLR 2024, "Revisiting random weight perturbation for efficiently improving
// generalization"), the mixed objective m-RWP: L_m(w) = λ·E_ε L(w+ε) + (1−λ)·L(w) with
// filter-wise Gaussian noise ε, one sample per step:
//
//	g_c = ∇L_B(w)                       the clean gradient (first pass; its loss is returned)
//	ε_j ~ N(0, σ²‖W_j‖² I)               for each row (filter) j of a tensor of rank ≥ 2,
//	ε   ~ N(0, σ²(‖b‖+1e-16)² I)          for a tensor of rank 1, with its whole norm
//	g_n = ∇L_B(w+ε)                     (second pass; it does not depend on g_c)
//	g   = (1−λ)·g_c + λ·g_n              what the base optimizer steps with
//
// σ is --rho (the paper's σ; the authors' default is 0.01, run_mrwp.sh uses 0.015), λ is
// --rwp-lambda (0.5). The noise is drawn from a stream seeded by Config.Seed and the step number.
// The two passes could run in parallel; here they run one after the other on the same
// mini-batch, as the paper's objective is written. The authors' parallel code instead gives the
// two passes different mini-batches on two GPUs (weights 2λ and 2(1−λ), averaged by DDP), so it
// consumes two batches per step; we keep one batch per step so that RWP runs at the shared
// budget of the other members. λ = 0 is the base optimizer (two passes, bit for bit); ρ = σ = 0
// is the base optimizer in one pass.
func init() {
	Register(&Member{
		Name: "rwp", Title: "RWP", Source: "Li et al., TMLR 2024",
		Summary: "(1−λ)·g + λ·∇L(w+ε), ε filter-wise Gaussian with std ρ·‖filter‖ (ρ is the paper's σ)",
		Passes:  "2 (independent)",
		Seeded:  true,
		Params: []Param{
			{Name: "rwp-lambda", Default: 0.5, Range: "[0,1]", Help: "rwp: weight λ of the gradient at the randomly perturbed weights (1−λ: the clean gradient)"},
		},
		Check: func(c Config) error {
			switch {
			case c.AscentSteps > 1:
				return errors.New("--ascent-steps: rwp's perturbation is random, not an ascent")
			case c.Adaptive || c.P != 0 && c.P != 2:
				return errors.New("--adaptive/--p: rwp's noise is scaled per filter, not by a norm ball")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			return &rwp{lambda: float32(c.Param("rwp-lambda")), seed: c.Seed}
		},
	})
}

type rwp struct {
	lambda   float32
	seed     uint64
	clean, z []float32
}

func (r *rwp) Gradient(s *Step) (float64, []float32) {
	r.clean, r.z = grow(r.clean, len(s.G)), grow(r.z, len(s.G))
	l := s.Grad(r.clean, 0, s.N)
	normals(r.z, r.seed, s.T)
	s.Eps.filterNoise(s.WP, s.W, r.z, s.Cfg.Rho)
	s.Loss(s.WP, s.G, 0, s.N, true)
	// (1−λ)·g + λ·g(w+ε), each product rounded, in vector passes over the threads.
	tensor.Scale(r.lambda, s.G)
	tensor.AddScaled(s.G, s.G, 1-r.lambda, r.clean)
	return l, s.G
}
