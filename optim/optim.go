package optim

import (
	"errors"
	"fmt"
	"math"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Optimizer updates parameters w in place from the gradient g with learning rate lr.
// It keeps whatever state it needs (momentum, moments) across calls.
type Optimizer interface {
	Step(w, g []float32, lr float64)
}

// Compile-time checks.
var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*Clip)(nil)
)

// decay applies decoupled weight decay w ← w − lr·wd·w on the weight spans of layout
// (every element when layout is nil).
func decay(layout *param.Layout, w []float32, lr, wd float64) {
	if wd == 0 {
		return
	}
	f := float32(1 - lr*wd)
	if layout == nil {
		for i := range w {
			w[i] *= f
		}
		return
	}
	for _, s := range layout.Spans {
		if s.Kind != param.Weight {
			continue
		}
		ws := s.Of(w)
		for i := range ws {
			ws[i] *= f
		}
	}
}

// SGD is stochastic gradient descent with optional momentum and Nesterov momentum, in PyTorch's
// convention (dampening 0). The zero value is plain SGD.
type SGD struct {
	Momentum    float64 // μ ≥ 0
	Nesterov    bool    // needs Momentum > 0
	WeightDecay float64 // decoupled weight decay, on weight spans of Layout
	Layout      *param.Layout

	v []float32
}

// Step implements Optimizer.
func (o *SGD) Step(w, g []float32, lr float64) {
	checkLen(w, g)
	decay(o.Layout, w, lr, o.WeightDecay)
	if o.Momentum == 0 {
		tensor.Axpy(float32(-lr), g, w)
		return
	}
	mu, a := float32(o.Momentum), float32(-lr)
	if o.v == nil {
		// PyTorch initialises the buffer with the first gradient: v₁ = g₁.
		o.v = append([]float32(nil), g...)
	} else {
		tensor.AddScaled(o.v[:len(g)], g, mu, o.v[:len(g)]) // v = μv + g
	}
	v := o.v[:len(g)]
	if o.Nesterov {
		for i, gi := range g {
			w[i] += a * (gi + mu*v[i])
		}
		return
	}
	tensor.Axpy(a, v, w)
}

// Adam is Adam (Kingma & Ba) as in PyTorch; with WeightDecay > 0 it is AdamW (decoupled decay).
// Zero Beta1/Beta2/Eps mean the defaults 0.9, 0.999, 1e-8.
type Adam struct {
	Beta1, Beta2, Eps float64
	WeightDecay       float64
	Layout            *param.Layout

	m, v []float32
	t    int
}

// Step implements Optimizer.
func (o *Adam) Step(w, g []float32, lr float64) {
	checkLen(w, g)
	b1, b2, eps := o.Beta1, o.Beta2, o.Eps
	if b1 == 0 {
		b1 = 0.9
	}
	if b2 == 0 {
		b2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	if o.m == nil {
		o.m = make([]float32, len(w))
		o.v = make([]float32, len(w))
	}
	o.t++
	decay(o.Layout, w, lr, o.WeightDecay)
	bc1 := 1 - math.Pow(b1, float64(o.t))
	bc2 := 1 - math.Pow(b2, float64(o.t))
	fb1, fb2 := float32(b1), float32(b2)
	tensor.AdamStep(w, g, o.m, o.v, tensor.AdamCoeffs{
		B1: fb1, OneMinusB1: 1 - fb1, B2: fb2, OneMinusB2: 1 - fb2,
		Sqrt2: float32(math.Sqrt(bc2)), Eps: float32(eps), Step: float32(lr / bc1),
	})
}

// Clip rescales the gradient to global L2 norm at most Max before passing it to Opt
// (torch.nn.utils.clip_grad_norm_). It modifies g in place.
type Clip struct {
	Max float64
	Opt Optimizer
}

// Step implements Optimizer.
func (c *Clip) Step(w, g []float32, lr float64) {
	ClipGlobalNorm(g, c.Max)
	c.Opt.Step(w, g, lr)
}

// ClipGlobalNorm scales g so that its L2 norm is at most max and returns the norm before clipping.
// Like PyTorch it multiplies by max/(norm+1e-6) when norm > max.
func ClipGlobalNorm(g []float32, max float64) float64 {
	var s float64
	for _, x := range g {
		s += float64(x) * float64(x)
	}
	n := math.Sqrt(s)
	if n > max {
		f := float32(max / (n + 1e-6))
		for i := range g {
			g[i] *= f
		}
	}
	return n
}

func checkLen(w, g []float32) {
	if len(w) != len(g) {
		panic(fmt.Sprintf("optim: len(w)=%d != len(g)=%d", len(w), len(g)))
	}
}

// Config names a base optimizer and its settings; it serialises to JSON for run records.
type Config struct {
	Name        string  `json:"name"` // "sgd", "adam" or "adamw"
	Momentum    float64 `json:"momentum,omitempty"`
	Nesterov    bool    `json:"nesterov,omitempty"`
	WeightDecay float64 `json:"weight_decay,omitempty"`
	Beta1       float64 `json:"beta1,omitempty"`
	Beta2       float64 `json:"beta2,omitempty"`
	Eps         float64 `json:"eps,omitempty"`
	Clip        float64 `json:"clip,omitempty"` // max global gradient norm; 0 = no clipping
}

// Validate reports the first invalid setting as a one-line error naming the flag.
func (c Config) Validate() error {
	switch c.Name {
	case "sgd", "adam", "adamw":
	default:
		return fmt.Errorf("--opt: unknown optimizer %q (want sgd, adam or adamw)", c.Name)
	}
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(c.Momentum) || c.Momentum < 0 || c.Momentum >= 1:
		return fmt.Errorf("--momentum: must be in [0,1), got %g", c.Momentum)
	case c.Nesterov && c.Name != "sgd":
		return errors.New("--nesterov: only applies to --opt sgd")
	case c.Nesterov && c.Momentum == 0:
		return errors.New("--nesterov: needs --momentum > 0")
	case c.Momentum != 0 && c.Name != "sgd":
		return fmt.Errorf("--momentum: only applies to --opt sgd (Adam uses --beta1)")
	case bad(c.WeightDecay) || c.WeightDecay < 0:
		return fmt.Errorf("--weight-decay: must be ≥ 0, got %g", c.WeightDecay)
	case bad(c.Beta1) || c.Beta1 < 0 || c.Beta1 >= 1:
		return fmt.Errorf("--beta1: must be in [0,1), got %g", c.Beta1)
	case bad(c.Beta2) || c.Beta2 < 0 || c.Beta2 >= 1:
		return fmt.Errorf("--beta2: must be in [0,1), got %g", c.Beta2)
	case bad(c.Eps) || c.Eps < 0:
		return fmt.Errorf("--eps: must be ≥ 0, got %g", c.Eps)
	case bad(c.Clip) || c.Clip < 0:
		return fmt.Errorf("--clip: must be ≥ 0 (0 = off), got %g", c.Clip)
	}
	return nil
}

// New builds the optimizer that c describes for a parameter vector with the given layout.
func New(c Config, layout *param.Layout) (Optimizer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var o Optimizer
	switch c.Name {
	case "sgd":
		o = &SGD{Momentum: c.Momentum, Nesterov: c.Nesterov, WeightDecay: c.WeightDecay, Layout: layout}
	default:
		o = &Adam{Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay, Layout: layout}
	}
	if c.Clip > 0 {
		o = &Clip{Max: c.Clip, Opt: o}
	}
	return o, nil
}
