package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Direction returns a filter-normalised random direction at w (Li et al., NeurIPS 2018): a
// seeded Gaussian vector in which each filter of each weight tensor (a row of a dense layer's
// [out, in] matrix, an output channel of a convolution: the slice along the first dimension) is
// rescaled to the norm of the same filter of w; bias and normalisation spans are zero.
func Direction(l *param.Layout, w []float32, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0xd1ec))
	d := make([]float32, len(w))
	for _, s := range l.Spans {
		if s.Kind != param.Weight {
			continue
		}
		ds, ws := s.Of(d), s.Of(w)
		for i := range ds {
			ds[i] = float32(rng.NormFloat64())
		}
		rows := 1
		if len(s.Shape) > 1 {
			rows = s.Shape[0]
		}
		per := s.Size() / rows
		for r := range rows {
			dr, wr := ds[r*per:(r+1)*per], ws[r*per:(r+1)*per]
			dn, wn := math.Sqrt(tensor.SumSq64(dr)), math.Sqrt(tensor.SumSq64(wr))
			if dn > 0 {
				tensor.Scale(float32(wn/dn), dr)
			}
		}
	}
	return d
}

// Point is one evaluation of a landscape: the loss and accuracy at w + Alpha·d1 + Beta·d2 (or
// at (1−Alpha)·A + Alpha·B on a path).
type Point struct {
	Alpha, Beta float64
	Loss, Acc   float64
}

// Linspace returns n evenly spaced values from lo to hi inclusive.
func Linspace(lo, hi float64, n int) []float64 {
	if n == 1 {
		return []float64{(lo + hi) / 2}
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}

// Line evaluates the loss at w + α·d for each α.
func Line(o *Objective, w, d []float32, alphas []float64) ([]Point, error) {
	return LineWith(o, w, d, alphas, nil)
}

// LineWith is Line that calls at(α) before each evaluation (to move the model's BatchNorm
// statistics with the weights: Stats.At); at may be nil.
func LineWith(o *Objective, w, d []float32, alphas []float64, at func(alpha, beta float64)) ([]Point, error) {
	if len(w) != o.Dim() || len(d) != o.Dim() {
		return nil, fmt.Errorf("sharpness: weights or direction do not match the model's %d parameters", o.Dim())
	}
	wp := make([]float32, len(w))
	pts := make([]Point, len(alphas))
	for i, a := range alphas {
		for j, x := range w {
			wp[j] = float32(float64(x) + a*float64(d[j]))
		}
		if at != nil {
			at(a, 0)
		}
		l, acc := o.Loss(wp)
		pts[i] = Point{Alpha: a, Loss: l, Acc: acc}
	}
	return pts, nil
}

// Plane evaluates the loss at w + α·d1 + β·d2 on the grid alphas × betas; the result is in
// row-major order with β varying slowest (row i holds betas[i]).
func Plane(o *Objective, w, d1, d2 []float32, alphas, betas []float64) ([]Point, error) {
	return PlaneWith(o, w, d1, d2, alphas, betas, nil)
}

// PlaneWith is Plane that calls at(α, β) before each evaluation; at may be nil.
func PlaneWith(o *Objective, w, d1, d2 []float32, alphas, betas []float64, at func(alpha, beta float64)) ([]Point, error) {
	if len(w) != o.Dim() || len(d1) != o.Dim() || len(d2) != o.Dim() {
		return nil, fmt.Errorf("sharpness: weights or directions do not match the model's %d parameters", o.Dim())
	}
	wp := make([]float32, len(w))
	pts := make([]Point, 0, len(alphas)*len(betas))
	for _, b := range betas {
		for _, a := range alphas {
			for j, x := range w {
				wp[j] = float32(float64(x) + a*float64(d1[j]) + b*float64(d2[j]))
			}
			if at != nil {
				at(a, b)
			}
			l, acc := o.Loss(wp)
			pts = append(pts, Point{Alpha: a, Beta: b, Loss: l, Acc: acc})
		}
	}
	return pts, nil
}

// Path evaluates the loss on the straight line (1−t)·a + t·b for each t (t outside [0,1]
// extrapolates).
func Path(o *Objective, a, b []float32, ts []float64) ([]Point, error) {
	if len(a) != o.Dim() || len(b) != o.Dim() {
		return nil, fmt.Errorf("sharpness: the two models must have the same %d parameters", o.Dim())
	}
	wp := make([]float32, len(a))
	pts := make([]Point, len(ts))
	for i, t := range ts {
		for j := range a {
			wp[j] = float32((1-t)*float64(a[j]) + t*float64(b[j]))
		}
		l, acc := o.Loss(wp)
		pts[i] = Point{Alpha: t, Loss: l, Acc: acc}
	}
	return pts, nil
}
