package sam

import (
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// LookSAM (Liu et al., CVPR 2022): full SAM every k-th step, keeping g_v = g_s − (g_s·g/‖g‖²)·g,
// the part of the SAM gradient g_s orthogonal to the gradient g at w; in between one pass and the
// update g + α·(‖g‖/‖g_v‖)·g_v. k = 1 is SAM.
func init() {
	Register(&Member{
		Name: "looksam", Title: "LookSAM", Source: "Liu et al., CVPR 2022",
		Summary: "SAM every k-th step; in between g + α·(‖g‖/‖g_v‖)·g_v with the kept g_v",
		Passes:  "1 + 1/k",
		Params: []Param{
			{Name: "looksam-k", Default: 5, Range: "[1,inf)", Int: true, Help: "looksam: full SAM every k-th step"},
			{Name: "looksam-alpha", Default: 0.7, Range: "[0,inf)", Help: "looksam: weight α of the reused ascent direction"},
		},
		New: func(c Config, p *Perturbation) Rule {
			return &lookSAM{k: int(c.Param("looksam-k")), alpha: c.Param("looksam-alpha"), gv: make([]float32, p.Layout.Size())}
		},
	})
}

type lookSAM struct {
	k      int
	alpha  float64
	step   int       // steps taken
	gv     []float32 // g_v, or g during a SAM step
	haveGV bool      // gv holds a direction from a SAM step
	normGV float64   // ‖g_v‖
}

func (r *lookSAM) Gradient(s *Step) (float64, []float32) {
	g, gv := s.G, r.gv
	l := s.Grad(g, 0, s.N)
	defer func() { r.step++ }()
	if r.step%r.k == 0 || !r.haveGV {
		copy(gv, g)
		s.Ascend(g, 0, s.N, s.Cfg.Rho) // g ← g_s
		if r.k == 1 {
			return l, g
		}
		tensor.AddScaled(gv, g, -projection(g, gv), gv)
		r.haveGV, r.normGV = true, math.Sqrt(tensor.SumSq64(gv))
		return l, g
	}
	if nv := r.normGV; nv > 0 {
		tensor.Axpy(float32(r.alpha*math.Sqrt(tensor.SumSq64(g))/nv), gv, g)
	}
	return l, g
}

// SaveState implements optim.Stateful: the step count and g_v with its norm.
func (r *lookSAM) SaveState(s *optim.State, prefix string) {
	s.PutNumber(prefix+"step", float64(r.step))
	if r.haveGV {
		s.PutVector(prefix+"gv", r.gv)
		s.PutNumber(prefix+"norm_gv", r.normGV)
	}
}

// LoadState implements optim.Stateful.
func (r *lookSAM) LoadState(s *optim.State, prefix string) error {
	step, err := s.Number(prefix + "step")
	if err != nil {
		return err
	}
	r.step, r.haveGV = int(step), false
	gv, err := s.Vector(prefix+"gv", len(r.gv))
	if err != nil || gv == nil {
		return err
	}
	if r.normGV, err = s.Number(prefix + "norm_gv"); err != nil {
		return err
	}
	r.gv, r.haveGV = gv, true
	return nil
}
