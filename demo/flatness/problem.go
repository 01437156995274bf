package flatness

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Problem is a 1-D learning problem: one parameter w, examples x ~ N(0, Noise²), and the loss of
// one example
//
//	l(w, x) = Base + (K/2)·(u − FlatCenter)² − Depth·exp(−(u − SharpCenter)² / (2·Width²)),  u = w − x.
//
// The wide quadratic bowl (curvature K) makes the flat minimum; the narrow Gaussian notch cut into
// its left wall makes the sharp one. Each example shifts the whole profile by x, so an empirical
// loss (the mean over a finite sample) is the profile smeared by the sample, and the population
// loss L_P(w) = E_x l(w, x) is the profile smeared by N(0, Noise²), known in closed form: the bowl
// rises by (K/2)·Noise², the notch becomes wider (s² = Width² + Noise²) and shallower (by Width/s).
type Problem struct {
	SharpCenter float64 `json:"sharp_center"` // centre of the notch
	Width       float64 `json:"width"`        // its width σ
	Depth       float64 `json:"depth"`        // its depth a
	FlatCenter  float64 `json:"flat_center"`  // centre of the bowl
	K           float64 `json:"k"`            // curvature of the bowl
	Base        float64 `json:"base"`         // constant offset
	Noise       float64 `json:"noise"`        // standard deviation τ of the example x
	Lo          float64 `json:"lo"`           // the interval of w that is plotted, searched and started from
	Hi          float64 `json:"hi"`
}

// DefaultProblem is the problem of `sam demo flatness`.
func DefaultProblem() Problem {
	return Problem{
		SharpCenter: -0.4, Width: 0.07, Depth: 0.43,
		FlatCenter: 0.4, K: 1,
		Base: 0.1, Noise: 0.07,
		Lo: -1.1, Hi: 1.3,
	}
}

// Validate reports a problem that cannot work as a one-line error.
func (p Problem) Validate() error {
	finite := func(v ...float64) bool {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	switch {
	case !finite(p.SharpCenter, p.Width, p.Depth, p.FlatCenter, p.K, p.Base, p.Noise, p.Lo, p.Hi):
		return fmt.Errorf("flatness: every parameter of the problem must be finite: %+v", p)
	case p.Width <= 0 || p.Depth <= 0 || p.K <= 0 || p.Noise <= 0:
		return fmt.Errorf("flatness: width, depth, curvature and noise must be > 0: %+v", p)
	case !(p.Lo < p.SharpCenter && p.SharpCenter < p.FlatCenter && p.FlatCenter < p.Hi):
		return fmt.Errorf("flatness: want lo < sharp centre < flat centre < hi, got %g, %g, %g, %g", p.Lo, p.SharpCenter, p.FlatCenter, p.Hi)
	}
	return nil
}

// Example returns the loss of one example x at w and its derivative in w.
func (p Problem) Example(w, x float64) (l, dl float64) {
	u := w - x
	b := u - p.FlatCenter
	d := u - p.SharpCenter
	e := p.Depth * math.Exp(-d*d/(2*p.Width*p.Width))
	return p.Base + 0.5*p.K*b*b - e, p.K*b + e*d/(p.Width*p.Width)
}

// Population returns L_P(w) = E_x l(w, x) in closed form.
func (p Problem) Population(w float64) float64 {
	b := w - p.FlatCenter
	d := w - p.SharpCenter
	s2 := p.Width*p.Width + p.Noise*p.Noise
	depth := p.Depth * p.Width / math.Sqrt(s2)
	return p.Base + 0.5*p.K*(b*b+p.Noise*p.Noise) - depth*math.Exp(-d*d/(2*s2))
}

// Sample draws n examples x ~ N(0, Noise²).
func (p Problem) Sample(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = p.Noise * rng.NormFloat64()
	}
	return x
}

// Empirical is the empirical loss L_S(w) = (1/n) Σ l(w, x_i) of one sample S.
type Empirical struct {
	P Problem
	X []float64
}

// Loss returns L_S(w).
func (e Empirical) Loss(w float64) float64 {
	l, _ := e.Grad(w)
	return l
}

// Grad returns L_S(w) and L_S'(w).
func (e Empirical) Grad(w float64) (l, dl float64) {
	return e.grad(w, 0, len(e.X))
}

// grad returns the mean loss and derivative over the examples [lo, hi).
func (e Empirical) grad(w float64, lo, hi int) (l, dl float64) {
	for _, x := range e.X[lo:hi] {
		a, b := e.P.Example(w, x)
		l += a
		dl += b
	}
	n := float64(hi - lo)
	return l / n, dl / n
}
