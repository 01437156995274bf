package sharpness

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestMaskedSharpness: at the minimum of a quadratic, SAM sharpness with the perturbation
// restricted to some parameters is ρ²λ_max(H_SS)/2 of the diagonal block H_SS, and ε-sharpness
// restricted to them is the best vertex of their box alone (all 8 vertices checked).
func TestMaskedSharpness(t *testing.T) {
	o, w, a := regression(t, 300, 5, 0)
	h := exactRegressionHessian(a)
	sel := []int{0, 1, 5} // the two smallest features and the bias
	mask := make([]bool, o.Dim())
	sub := mat.NewSymDense(len(sel), nil)
	for i, p := range sel {
		mask[p] = true
		for j, q := range sel {
			sub.SetSym(i, j, h.At(p, q))
		}
	}
	lsub, lall := symEigen(t, sub)[0], symEigen(t, h)[0]
	if lsub > 0.8*lall {
		t.Fatalf("block λ_max %g too close to the whole one %g: a weak test", lsub, lall)
	}
	const rho = 0.1
	r, err := SAMSharpness(o, w, rho, AscentOptions{Steps: 300, Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	if want := rho * rho * lsub / 2; r.Sharpness > want*(1+1e-3)+1e-6 || r.Sharpness < 0.95*want {
		t.Errorf("masked SAM sharpness %.6g, want ρ²λ_max(H_SS)/2 = %.6g (whole: %.6g)", r.Sharpness, want, rho*rho*lall/2)
	}
	const eps = 1e-2
	e, err := EpsSharpness(o, w, eps, AscentOptions{Steps: 20, Restarts: 8, Mask: mask})
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := o.Loss(w)
	best := 0.0
	for v := range 8 {
		y := make([]float64, o.Dim())
		for k, p := range sel {
			s := 1.0
			if v>>k&1 == 1 {
				s = -1
			}
			y[p] = s * eps * (math.Abs(float64(w[p])) + 1)
		}
		yv := mat.NewVecDense(len(y), y)
		best = math.Max(best, 0.5*mat.Inner(yv, h, yv))
	}
	if want := 100 * best / (1 + l0); math.Abs(e.Sharpness-want) > 0.02*want {
		t.Errorf("masked ε-sharpness %.6g, best vertex of the block's box %.6g", e.Sharpness, want)
	}
	if _, err := SAMSharpness(o, w, rho, AscentOptions{Mask: mask[:2]}); err == nil {
		t.Error("a short mask accepted")
	}
}
