package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchNormKernels checks the batch-normalisation helpers against float64 references.
func TestBatchNormKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{0, 1, 16, 33, 1000} {
		x, y := make([]float32, n), make([]float32, n)
		var s, ss, sy, d float64
		for i := range x {
			x[i] = float32(rng.NormFloat64()*2 - 5)
			y[i] = float32(rng.NormFloat64())
			s += float64(x[i])
			ss += float64(x[i]) * float64(x[i])
			sy += float64(y[i])
			d += float64(y[i]) * float64(x[i])
		}
		a, b := Moments64(x)
		c, e := SumDot64(y, x)
		for _, p := range [][2]float64{{a, s}, {b, ss}, {c, sy}, {e, d}} {
			if math.Abs(p[0]-p[1]) > 1e-12*(1+math.Abs(p[1])) {
				t.Fatalf("n=%d: sum %v, reference %v", n, p[0], p[1])
			}
		}
		xh, yv, dx := make([]float32, n), make([]float32, n), make([]float32, n)
		BatchNormApply(yv, xh, x, 0.5, 2, 3, -1, false)
		BatchNormGrad(dx, y, xh, 0.25, 0.1, -0.2)
		for i := range x {
			h := (float64(x[i]) - 0.5) * 2
			if math.Abs(float64(xh[i])-h) > 1e-5*(1+math.Abs(h)) || math.Abs(float64(yv[i])-(3*h-1)) > 1e-5*(1+math.Abs(3*h)) {
				t.Fatalf("n=%d: apply %d: %v %v, want %v %v", n, i, xh[i], yv[i], h, 3*h-1)
			}
			g := 0.25 * (float64(y[i]) - 0.1 + float64(xh[i])*0.2)
			if math.Abs(float64(dx[i])-g) > 1e-5*(1+math.Abs(g)) {
				t.Fatalf("n=%d: grad %d: %v, want %v", n, i, dx[i], g)
			}
		}
	}
}
