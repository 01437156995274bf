package sam

import (
	"math"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Perturbation is how ε is chosen from a direction g at w, built from parts that the members
// switch on:
//
//	ε = ρ·T·sign(z)|z|^(q−1)/(‖z‖_q^q)^(1/p),  z = T∘g,  q = p/(p−1)
//
// with T = |w|+η on weight spans for ASAM (Adaptive) and 1 elsewhere. For p = 2 this is
// ρ·T²g/(‖Tg‖₂+1e-12), for p = ∞ it is ρ·T·sign(g), and a zero direction gives ε = 0.
// Raw drops the normalisation (ε = ρ·T²g, USAM; p = 2 only); Only restricts ε to the spans of
// one kind (SAM-ON: the normalisation layers), the others keep their base; Mask multiplies ε by
// a fresh random 0-or-1/β mask at every Apply (ESAM's stochastic weight perturbation).
type Perturbation struct {
	P        float64 // the norm p (2, +Inf, or any p > 1)
	Adaptive bool    // ASAM's T = |w|+η on weight spans
	Eta      float32 // ASAM's η
	Layout   *param.Layout

	Raw  bool        // USAM: no normalisation
	Only *param.Kind // SAM-ON: perturb the spans of this kind only
	Mask *Mask       // ESAM: keep each coordinate with probability β, scaled by 1/β
}

// Mask is a stream of random masks: each coordinate is 1/β with probability β, else 0.
type Mask struct {
	bern *tensor.Bernoulli
	m    []float32
}

// NewMask returns the mask stream for n coordinates with keep probability beta (rounded to a
// multiple of 2⁻¹⁶), drawn from seed.
func NewMask(n int, beta float64, seed uint64) *Mask {
	return &Mask{bern: tensor.NewBernoulli(beta, seed), m: make([]float32, n)}
}

// plain reports plain SAM's ε: p = 2, normalised, no ASAM scaling, span filter or mask.
func (e *Perturbation) plain() bool {
	return e.P == 2 && !e.Adaptive && !e.Raw && e.Only == nil && e.Mask == nil
}

// Apply writes base + ε into dst for the direction g at w (dst may alias base).
func (e *Perturbation) Apply(dst, base, w, g []float32, rho float64) {
	p, eta := e.P, e.Eta
	if e.plain() || p == 2 && e.Raw && !e.Adaptive && e.Only == nil && e.Mask == nil {
		// Plain SAM (and USAM): ε = ρ·g/‖g‖ over the whole vector at once, each loop one call
		// split over the threads (the per-span calls below give the same ε: the norm's float64
		// sum in another order rounds to the same float32 factor but for a tie).
		c := float32(rho)
		if !e.Raw {
			c = float32(rho / (math.Sqrt(tensor.SumSq64(g)) + 1e-12))
		}
		tensor.AddScaled(dst, base, c, g)
		return
	}
	scaled := func(s param.Span) bool { return e.Adaptive && s.Kind == param.Weight }
	included := func(s param.Span) bool { return e.Only == nil || s.Kind == *e.Only }
	if e.Only != nil && len(base) > 0 && &dst[0] != &base[0] {
		// The spans left out are taken at base: one copy of the whole vector over the threads
		// (the spans included are overwritten below).
		tensor.Copy(dst, base)
	}
	var mask []float32
	if e.Mask != nil {
		e.Mask.bern.Fill(e.Mask.m)
		mask = e.Mask.m
	}
	keep := func(x float32, i int) float32 {
		if mask == nil {
			return x
		}
		return x * mask[i]
	}
	switch {
	case p == 2:
		c := float32(rho)
		if !e.Raw {
			var sum float64 // ‖Tg‖², accumulated in float64 in a fixed order
			for _, s := range e.Layout.Spans {
				if scaled(s) {
					sum += sumSqScaled(s.Of(w), s.Of(g), eta)
				} else if included(s) {
					sum += tensor.SumSq64(s.Of(g))
				}
			}
			c = float32(rho / (math.Sqrt(sum) + 1e-12))
		}
		for _, s := range e.Layout.Spans {
			ws, gs, bs, ds := s.Of(w), s.Of(g), s.Of(base), s.Of(dst)
			switch {
			case !included(s):
			case scaled(s):
				var ms []float32
				if mask != nil {
					ms = s.Of(mask)
				}
				scaledStep(ds, bs, ws, gs, ms, c, eta)
			case mask != nil:
				tensor.AddScaledMul(ds, bs, c, gs, s.Of(mask))
			default: // plain SAM: the hot loop
				tensor.AddScaled(ds, bs, c, gs)
			}
		}
	case math.IsInf(p, 1):
		r := float32(rho)
		for _, s := range e.Layout.Spans {
			if !included(s) {
				continue
			}
			ws, gs, bs, ds := s.Of(w), s.Of(g), s.Of(base), s.Of(dst)
			for i, x := range gs {
				v := r
				if scaled(s) {
					v *= abs32(ws[i]) + eta
				}
				switch {
				case x > 0:
					ds[i] = bs[i] + keep(v, s.Off+i)
				case x < 0:
					ds[i] = bs[i] + keep(-v, s.Off+i)
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
		for _, s := range e.Layout.Spans {
			for i := s.Off; i < s.End() && included(s); i++ {
				sum += math.Pow(math.Abs(t(s, i)*float64(g[i])), q)
			}
		}
		var c float64
		if sum > 0 {
			c = rho / math.Pow(sum, 1/p)
		}
		for _, s := range e.Layout.Spans {
			for i := s.Off; i < s.End() && included(s); i++ {
				ti := t(s, i)
				z := ti * float64(g[i])
				dst[i] = base[i] + keep(float32(c*ti*math.Copysign(math.Pow(math.Abs(z), q-1), z)), i)
			}
		}
	}
}

// Project maps eps onto the ball ‖ε/T‖_p ≤ ρ (p = 2 or ∞; T = 1 unless ASAM), for multi-step
// ascent.
func (e *Perturbation) Project(eps, w []float32, rho float64) {
	t := func(s param.Span, i int) float32 {
		if e.Adaptive && s.Kind == param.Weight {
			return abs32(w[i]) + e.Eta
		}
		return 1
	}
	if math.IsInf(e.P, 1) {
		for _, s := range e.Layout.Spans {
			for i := s.Off; i < s.End(); i++ {
				r := float32(rho) * t(s, i)
				eps[i] = max(-r, min(r, eps[i]))
			}
		}
		return
	}
	var sum float64
	if !e.Adaptive && e.P == 2 {
		sum = tensor.SumSq64(eps) // T = 1: the vector kernel, split over the threads
	} else {
		for _, s := range e.Layout.Spans {
			for i := s.Off; i < s.End(); i++ {
				z := float64(eps[i] / t(s, i))
				sum += z * z
			}
		}
	}
	if n := math.Sqrt(sum); n > rho {
		tensor.Scale(float32(rho/n), eps)
	}
}

// scaledStep writes ds = bs + c·T²∘g (times the mask when not nil), T = |w|+η: ASAM's ε for
// p = 2, in the vector kernel (tensor.ASAMStep: elementwise, the same bits on any thread count).
func scaledStep(ds, bs, ws, gs, mask []float32, c, eta float32) {
	tensor.ASAMStep(ds, bs, ws, gs, mask, c, eta)
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// sumSqScaled returns Σ((|w|+η)·g)² in float64 (tensor.SumSqScaled64).
func sumSqScaled(w, g []float32, eta float32) float64 { return tensor.SumSqScaled64(w, g, eta) }
