package sam

import (
	"errors"
	"math"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Lookbehind-SAM (Mordido, Malviya, Baratin & Chandar, ICML 2024, "Lookbehind-SAM: k steps back,
// 1 step forward"): k ascent steps that go on from each other ("behind"), each followed by a
// descent step of the base optimizer on fast weights φ, then one lookahead-style interpolation of
// the slow weights w. On one mini-batch, with φ₀ = p₀ = w:
//
//	for i = 1..k:
//	    p_i = p_{i−1} + ρ·∇L(p_{i−1})/‖∇L(p_{i−1})‖     the ascent goes on from the last point
//	    g_i = ∇L(p_i)
//	    φ_i = base step of φ_{i−1} with g_i             (the base optimizer's state carries on)
//	w ← w + α·(φ_k − w)
//
// ∇L(p_{i−1}) for i ≥ 2 is g_{i−1} (same point, same batch), so a step takes k + 1 passes; the
// authors' code recomputes it (2k passes, the same gradient). ε is the shared Perturbation
// (--p, --adaptive with T from the current point p). Adaptive α (--lookbehind-adaptive 1):
// α = (cos(φ₁ − w, φ_k − w) + 1)/2, computed per parameter tensor as in the authors' code
// (the cosine of a zero vector is 0, as torch's CosineSimilarity gives). --l2 is taken at the
// fast weights (λ·φ, as PyTorch's coupled weight decay in the authors' SGD); the base
// optimizer's decoupled --weight-decay acts on φ. The returned loss is L(w). k = 1 with α = 1
// is SAM, bit for bit. A non-finite pass stops the step with the weights untouched, but inner
// steps taken before it have advanced the base optimizer's state.
func init() {
	Register(&Member{
		Name: "lookbehind", Title: "Lookbehind-SAM", Source: "Mordido et al., ICML 2024",
		Summary: "k ascent steps that go on from each other, each with a base step on fast weights φ; then w ← w + α·(φ_k − w)",
		Passes:  "k + 1",
		Params: []Param{
			{Name: "lookbehind-k", Default: 2, Range: "[1,inf)", Int: true, Help: "lookbehind: ascent steps (and fast-weight descent steps) per step"},
			{Name: "lookbehind-alpha", Default: 0.5, Range: "(0,1]", Help: "lookbehind: interpolation α of the slow weights towards the fast ones"},
			{Name: "lookbehind-adaptive", Default: 0, Range: "[0,1]", Int: true, Help: "lookbehind: 1 = adaptive α = (cos(φ₁−w, φ_k−w)+1)/2 per tensor, instead of --lookbehind-alpha"},
		},
		Check: func(c Config) error {
			if c.AscentSteps > 1 {
				return errors.New("--ascent-steps: lookbehind takes its ascent steps by --lookbehind-k")
			}
			return nil
		},
		New: func(c Config, p *Perturbation) Rule {
			return &lookbehind{k: int(c.Param("lookbehind-k")), alpha: c.Param("lookbehind-alpha"),
				adaptive: c.Param("lookbehind-adaptive") == 1}
		},
	})
}

type lookbehind struct {
	k        int
	alpha    float64
	adaptive bool
	phi      []float32 // the fast weights φ
	first    []float32 // φ₁, for adaptive α
	d        []float32 // an inner step's gradient (the base optimizer may clip it in place)
}

func (r *lookbehind) Gradient(s *Step) (float64, []float32) {
	n := len(s.W)
	r.phi, r.d = grow(r.phi, n), grow(r.d, n)
	if r.adaptive {
		r.first = grow(r.first, n)
	}
	tensor.Copy(r.phi, s.W)
	p := s.WP
	tensor.Copy(p, s.W)
	l := s.Grad(s.G, 0, s.N)
	for i := 1; i <= r.k; i++ {
		s.Eps.Apply(p, p, p, s.G, s.Cfg.Rho)
		s.Loss(p, s.G, 0, s.N, true) // g_i, also the next ascent direction
		if i == r.k {
			break
		}
		if !tensor.Finite(s.G) {
			return math.NaN(), s.G
		}
		tensor.Copy(r.d, s.G)
		addL2(r.d, r.phi, s.Eps.Layout, s.Cfg.L2)
		s.Base.Step(r.phi, r.d, s.LR)
		if i == 1 && r.adaptive {
			copy(r.first, r.phi)
		}
	}
	return l, s.G
}

// Update implements Updater: the last fast-weight step (g holds g_k + λ·w from the core) and
// the interpolation.
func (r *lookbehind) Update(s *Step, w, g []float32) {
	if lam := float32(s.Cfg.L2); lam != 0 { // the core added λ·w; the step is at φ
		for _, sp := range s.Eps.Layout.Spans {
			if sp.Kind == param.Weight {
				gs, ps, ws := sp.Of(g), sp.Of(r.phi), sp.Of(w)
				for i := range gs {
					gs[i] += lam * (ps[i] - ws[i])
				}
			}
		}
	}
	s.Base.Step(r.phi, g, s.LR)
	if r.k == 1 && r.adaptive {
		copy(r.first, r.phi)
	}
	for _, sp := range s.Eps.Layout.Spans {
		ws, ps := sp.Of(w), sp.Of(r.phi)
		a := r.alpha
		if r.adaptive {
			a = (cosine(sp.Of(r.first), ps, ws) + 1) / 2
		}
		if a == 1 {
			copy(ws, ps)
			continue
		}
		tensor.Parallel(len(ws), loopGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				ws[i] += float32(a) * (ps[i] - ws[i])
			}
		})
	}
}

// cosine returns cos(a − w, b − w) in float64, 0 when either difference is (nearly) zero.
func cosine(a, b, w []float32) float64 {
	var ab, aa, bb float64
	for i, x := range w {
		da, db := float64(a[i]-x), float64(b[i]-x)
		ab, aa, bb = ab+da*db, aa+da*da, bb+db*db
	}
	if d := math.Sqrt(aa) * math.Sqrt(bb); d > 1e-8 {
		return ab / d
	}
	return 0
}

// addL2 adds λ·w to g on the weight spans.
func addL2(g, w []float32, l *param.Layout, lambda float64) {
	if lambda == 0 {
		return
	}
	lam := float32(lambda)
	for _, sp := range l.Spans {
		if sp.Kind == param.Weight {
			gs, ws := sp.Of(g), sp.Of(w)
			for i, x := range ws {
				gs[i] += lam * x
			}
		}
	}
}
