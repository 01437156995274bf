package sam

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Loss evaluates the training loss on examples [lo, hi) of the current mini-batch at parameters w,
// overwrites grad with its gradient and returns the loss (mean over those examples).
// second is true for the evaluation at the perturbed point w+ε: the model must then reuse the
// first pass's random choices (dropout masks) and must not update batch-statistics state
// (BatchNorm running averages).
type Loss func(w, grad []float32, lo, hi int, second bool) float64

// Examples gives ESAM's sharpness-sensitive data selection (--esam-gamma < 1) the per-example
// view of the mini-batch's loss that it ranks examples by; see Optimizer.StepExamples.
type Examples interface {
	// Losses writes the n per-example losses of the last evaluation into dst: the first pass
	// Loss(w, grad, 0, n, false), or Forward.
	Losses(dst []float32)
	// Forward evaluates the model at w on all n examples, as a second pass (see Loss), without
	// a gradient.
	Forward(w []float32)
	// Backward overwrites grad with the gradient, at the w of the last Forward, of the mean loss
	// over the examples idx (ascending), and returns that mean.
	Backward(w, grad []float32, idx []int) float64
}

// Config holds SAM's settings. The zero value is the base optimizer alone (ρ = 0).
type Config struct {
	Rho      float64 `json:"rho"`                // neighbourhood radius ρ ≥ 0
	P        float64 `json:"p,omitempty"`        // norm p > 1 (0 means 2; +Inf allowed)
	Adaptive bool    `json:"adaptive,omitempty"` // ASAM: ε scaled by T = |w|+η on weights
	Eta      float64 `json:"eta,omitempty"`      // ASAM η (0 means 0.01)
	M        int     `json:"m,omitempty"`        // m-sharpness chunk size (0 = whole batch)
	L2       float64 `json:"l2,omitempty"`       // λ of (λ/2)‖w‖², weight spans only

	// Variants (variants.go): "" or "sam", "usam", "gsam", "looksam", "esam", "samon".
	Variant     string `json:"variant,omitempty"`
	AscentSteps int    `json:"ascent_steps,omitempty"` // k projected ascent steps (SAM paper App. C); 0 = 1
	Variants
}

// Validate reports the first invalid setting as a one-line error naming the flag.
func (c Config) Validate() error {
	switch {
	case math.IsNaN(c.Rho) || math.IsInf(c.Rho, 0) || c.Rho < 0:
		return fmt.Errorf("--rho: must be a finite number ≥ 0, got %g", c.Rho)
	case math.IsNaN(c.P) || (c.P != 0 && c.P <= 1):
		return fmt.Errorf("--p: must be > 1 (or inf), got %g", c.P)
	case math.IsNaN(c.Eta) || math.IsInf(c.Eta, 0) || c.Eta < 0:
		return fmt.Errorf("--eta: must be a finite number ≥ 0, got %g", c.Eta)
	case c.M < 0:
		return fmt.Errorf("--m: must be ≥ 0 (0 = whole batch), got %d", c.M)
	case math.IsNaN(c.L2) || math.IsInf(c.L2, 0) || c.L2 < 0:
		return fmt.Errorf("--l2: must be a finite number ≥ 0, got %g", c.L2)
	case c.AscentSteps < 0:
		return fmt.Errorf("--ascent-steps: must be ≥ 1, got %d", c.AscentSteps)
	case c.AscentSteps > 1 && c.P != 0 && c.P != 2 && !math.IsInf(c.P, 1):
		return fmt.Errorf("--ascent-steps: multi-step ascent supports p = 2 or inf, got p = %g", c.P)
	}
	return c.validateVariant()
}

// Optimizer is SAM around a base optimizer. Create it with New.
type Optimizer struct {
	cfg    Config
	base   optim.Optimizer
	layout *param.Layout

	g   []float32 // gradient at w, then g_SAM
	wp  []float32 // the perturbed point w+ε
	acc []float32 // m-sharpness: running average of the chunks' g_SAM; GSAM, LookSAM: a second gradient
	eps []float32 // multi-step ascent: ε
	variantState
}

// ErrNonFinite is returned (wrapped) by Step when the loss or gradient is NaN or infinite;
// the parameters are then left as they were before the step.
var ErrNonFinite = errors.New("sam: loss or gradient is not finite")

// New wraps base for a parameter vector laid out as layout.
func New(base optim.Optimizer, layout *param.Layout, cfg Config) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.P == 0 {
		cfg.P = 2
	}
	if cfg.Eta == 0 {
		cfg.Eta = 0.01
	}
	if cfg.AscentSteps == 0 {
		cfg.AscentSteps = 1
	}
	n := layout.Size()
	o := &Optimizer{cfg: cfg, base: base, layout: layout, g: make([]float32, n)}
	if cfg.Rho > 0 {
		o.wp = make([]float32, n)
	}
	o.initVariant()
	return o, nil
}

// Config returns the settings in use (defaults filled in).
func (o *Optimizer) Config() Config { return o.cfg }

// Step performs one step on a mini-batch of n examples with learning rate lr, updating w in
// place, and returns the loss at w (the first pass). With ρ = 0 it is one pass and the base
// optimizer's step.
func (o *Optimizer) Step(w []float32, n int, loss Loss, lr float64) (float64, error) {
	return o.StepExamples(w, n, loss, nil, lr)
}

// StepExamples is Step with the per-example view ex of the same mini-batch, which ESAM's data
// selection (--esam-gamma < 1) needs; every other setting ignores it, and it may then be nil.
func (o *Optimizer) StepExamples(w []float32, n int, loss Loss, ex Examples, lr float64) (float64, error) {
	if len(w) != o.layout.Size() {
		panic(fmt.Sprintf("sam: len(w)=%d, layout size %d", len(w), o.layout.Size()))
	}
	var l float64
	var g []float32
	switch {
	case o.cfg.Rho == 0 && o.cfg.RhoMin == 0:
		g = o.g
		l = loss(w, g, 0, n, false)
	case o.cfg.Variant == "gsam":
		l, g = o.gsam(w, n, loss, lr)
	case o.cfg.Variant == "looksam":
		l, g = o.lookSAM(w, n, loss)
	case o.cfg.Variant == "esam" && o.cfg.ESAMGamma < 1:
		l, g = o.esam(w, n, loss, ex)
	default:
		l, g = o.sam(w, n, loss)
	}
	if math.IsNaN(l) || math.IsInf(l, 0) || !tensor.Finite(g) {
		return l, ErrNonFinite
	}
	if o.cfg.L2 != 0 {
		lam := float32(o.cfg.L2)
		for _, s := range o.layout.Spans {
			if s.Kind == param.Weight {
				gs, ws := s.Of(g), s.Of(w)
				for i, x := range ws {
					gs[i] += lam * x
				}
			}
		}
	}
	o.base.Step(w, g, lr)
	return l, nil
}

// sam returns the loss at w and g_SAM: per chunk of m examples (m-sharpness), the gradient at
// the worst point w+ε found from the chunk's own gradient, averaged over the chunks.
func (o *Optimizer) sam(w []float32, n int, loss Loss) (float64, []float32) {
	m := o.cfg.M
	if m <= 0 || m >= n {
		m = n
	}
	if m < n && o.acc == nil {
		o.acc = make([]float32, len(w))
	}
	g := o.g
	var l float64
	for lo := 0; lo < n; lo += m {
		hi := min(lo+m, n)
		l += loss(w, g, lo, hi, false) * float64(hi-lo) / float64(n)
		o.ascend(w, lo, hi, loss, o.cfg.Rho)
		if m < n {
			f := float32(hi-lo) / float32(n)
			if lo == 0 {
				for i, x := range g {
					o.acc[i] = f * x
				}
			} else {
				tensor.Axpy(f, g, o.acc)
			}
		}
	}
	if m < n {
		return l, o.acc
	}
	return l, g
}

// ascend replaces the gradient at w in o.g by the gradient at the ascent point w+ε on examples
// [lo,hi): one step ε = ρ·ĝ (SAM), or k projected steps ε ← Proj_{‖ε‖≤ρ}(ε + (ρ/k)·ĝ(w+ε)),
// where ĝ is the gradient normalised in the p-norm (scaled by T for ASAM).
func (o *Optimizer) ascend(w []float32, lo, hi int, loss Loss, rho float64) {
	k := o.cfg.AscentSteps
	if k <= 1 {
		o.perturb(o.wp, w, w, o.g, rho)
		loss(o.wp, o.g, lo, hi, true)
		return
	}
	if o.eps == nil {
		o.eps = make([]float32, len(w))
	}
	clear(o.eps)
	for range k {
		o.perturb(o.eps, o.eps, w, o.g, rho/float64(k))
		o.project(w, rho)
		for i, e := range o.eps {
			o.wp[i] = w[i] + e
		}
		loss(o.wp, o.g, lo, hi, true)
	}
}

// project maps o.eps onto the ball ‖ε/T‖_p ≤ ρ (p = 2 or ∞; T = 1 unless ASAM).
func (o *Optimizer) project(w []float32, rho float64) {
	eta := float32(o.cfg.Eta)
	t := func(s param.Span, i int) float32 {
		if o.cfg.Adaptive && s.Kind == param.Weight {
			return abs32(w[i]) + eta
		}
		return 1
	}
	if math.IsInf(o.cfg.P, 1) {
		for _, s := range o.layout.Spans {
			for i := s.Off; i < s.End(); i++ {
				r := float32(rho) * t(s, i)
				o.eps[i] = max(-r, min(r, o.eps[i]))
			}
		}
		return
	}
	var sum float64
	for _, s := range o.layout.Spans {
		for i := s.Off; i < s.End(); i++ {
			z := float64(o.eps[i] / t(s, i))
			sum += z * z
		}
	}
	if n := math.Sqrt(sum); n > rho {
		f := float32(rho / n)
		for i := range o.eps {
			o.eps[i] *= f
		}
	}
}

// perturb writes base + ε into dst for the gradient g at w, where
// ε = ρ·T·sign(z)|z|^(q−1)/(‖z‖_q^q)^(1/p) with z = T∘g, T = |w|+η on weight spans for ASAM and
// 1 elsewhere. For p = 2 this is ρ·T²g/(‖Tg‖₂+1e-12); for p = ∞ it is ρ·T·sign(g); a zero
// gradient gives ε = 0. Variants adjust it: USAM drops the normalisation (ε = ρ·T²g), SAM-ON
// perturbs the normalisation spans only, ESAM keeps each coordinate with probability β (scaled 1/β).
func (o *Optimizer) perturb(dst, base, w, g []float32, rho float64) {
	p, eta := o.cfg.P, float32(o.cfg.Eta)
	scaled := func(s param.Span) bool { return o.cfg.Adaptive && s.Kind == param.Weight }
	included := func(s param.Span) bool { return o.cfg.Variant != "samon" || s.Kind == param.Norm }
	for _, s := range o.layout.Spans {
		if !included(s) {
			copy(s.Of(dst), s.Of(base))
		}
	}
	if o.mask != nil {
		o.bern.Fill(o.mask)
	}
	switch {
	case p == 2:
		c := float32(rho)
		if o.cfg.Variant != "usam" {
			var sum float64 // ‖Tg‖², accumulated in float64 in a fixed order
			for _, s := range o.layout.Spans {
				if scaled(s) {
					sum += sumSqScaled(s.Of(w), s.Of(g), eta)
				} else if included(s) {
					sum += tensor.SumSq64(s.Of(g))
				}
			}
			c = float32(rho / (math.Sqrt(sum) + 1e-12))
		}
		for _, s := range o.layout.Spans {
			ws, gs, bs, ds := s.Of(w), s.Of(g), s.Of(base), s.Of(dst)
			switch {
			case !included(s):
			case scaled(s):
				for i, x := range gs {
					t := abs32(ws[i]) + eta
					ds[i] = bs[i] + o.keep(c*t*t*x, s.Off+i)
				}
			case o.mask != nil:
				tensor.AddScaledMul(ds, bs, c, gs, s.Of(o.mask))
			default: // plain SAM: the hot loop
				tensor.AddScaled(ds, bs, c, gs)
			}
		}
	case math.IsInf(p, 1):
		r := float32(rho)
		for _, s := range o.layout.Spans {
			if !included(s) {
				continue
			}
			ws, gs, bs, ds := s.Of(w), s.Of(g), s.Of(base), s.Of(dst)
			for i, x := range gs {
				e := r
				if scaled(s) {
					e *= abs32(ws[i]) + eta
				}
				switch {
				case x > 0:
					ds[i] = bs[i] + o.keep(e, s.Off+i)
				case x < 0:
					ds[i] = bs[i] + o.keep(-e, s.Off+i)
				default:
					ds[i] = bs[i]
				}
			}
		}
	default: // any other p > 1, in float64
		q := p / (p - 1) // the dual exponent
		t := func(s param.Span, i int) float64 {
			if scaled(s) {
				return float64(abs32(w[i]) + eta)
			}
			return 1
		}
		var sum float64
		for _, s := range o.layout.Spans {
			for i := s.Off; i < s.End() && included(s); i++ {
				sum += math.Pow(math.Abs(t(s, i)*float64(g[i])), q)
			}
		}
		var c float64
		if sum > 0 {
			c = rho / math.Pow(sum, 1/p)
		}
		for _, s := range o.layout.Spans {
			for i := s.Off; i < s.End() && included(s); i++ {
				ti := t(s, i)
				z := ti * float64(g[i])
				dst[i] = base[i] + o.keep(float32(c*ti*math.Copysign(math.Pow(math.Abs(z), q-1), z)), i)
			}
		}
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// sumSqScaled returns Σ((|w|+η)·g)² in float64.
func sumSqScaled(w, g []float32, eta float32) float64 {
	var s float64
	for i, x := range g {
		z := float64((abs32(w[i]) + eta) * x)
		s += z * z
	}
	return s
}

// MarshalJSON writes the config with p = ∞ as the string "inf" (JSON has no infinity).
func (c Config) MarshalJSON() ([]byte, error) {
	type plain Config
	var p any = c.P
	if math.IsInf(c.P, 1) {
		p = "inf"
	}
	return json.Marshal(struct {
		plain
		P any `json:"p,omitempty"`
	}{plain(c), p})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	aux := struct {
		*plain
		P any `json:"p,omitempty"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	switch p := aux.P.(type) {
	case nil:
		c.P = 0
	case float64:
		c.P = p
	case string:
		if p != "inf" {
			return fmt.Errorf("sam: config p %q is not a number or \"inf\"", p)
		}
		c.P = math.Inf(1)
	default:
		return fmt.Errorf("sam: config p has type %T", p)
	}
	return nil
}
