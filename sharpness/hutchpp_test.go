package sharpness

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestHutchPPBeatsHutchinson: at an equal number of products, Hutch++ has a smaller mean squared
// error than Hutchinson on the exact linear-regression Hessian (through the model) and on a dense
// MLP Hessian. Over 300 seeded repetitions each; the difference of the two mean squared errors
// must exceed 4 standard errors of that difference (a two-sample z-test), so a lucky seed cannot
// pass it. Both estimators are unbiased: their mean errors stay within 4 standard errors of 0.
func TestHutchPPBeatsHutchinson(t *testing.T) {
	o, w, a := regression(t, 200, 24, 64)
	reg, err := NewHessian(o, w, Exact)
	if err != nil {
		t.Fatal(err)
	}
	mo, mw, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{6})
	mh, err := NewHessian(mo, mw, Exact)
	if err != nil {
		t.Fatal(err)
	}
	md := denseOf(mh)
	msym := mat.NewSymDense(mo.Dim(), nil)
	for i := range mo.Dim() {
		for j := i; j < mo.Dim(); j++ {
			msym.SetSym(i, j, (md.At(i, j)+md.At(j, i))/2)
		}
	}
	for _, tc := range []struct {
		name     string
		op       Operator
		trace    float64
		products int
	}{
		{"linear regression", reg, mat.Trace(exactRegressionHessian(a)), 30},
		{"MLP", denseOp{msym}, mat.Trace(msym), 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const reps = 300
			var errH, errP []float64
			cover := 0
			for r := range reps {
				h, err := Trace(tc.op, tc.products, uint64(r))
				if err != nil {
					t.Fatal(err)
				}
				p, err := HutchPP(tc.op, tc.products, uint64(r))
				if err != nil {
					t.Fatal(err)
				}
				errH = append(errH, h.Trace-tc.trace)
				errP = append(errP, p.Trace-tc.trace)
				if math.Abs(p.Trace-tc.trace) <= 2*p.StdErr {
					cover++
				}
			}
			mseH, varH := meanVar(squares(errH))
			mseP, varP := meanVar(squares(errP))
			se := math.Sqrt(varH/reps + varP/reps)
			t.Logf("trace %.5g, %d products: RMSE Hutchinson %.3g, Hutch++ %.3g (ratio of MSEs %.3g, z = %.1f); Hutch++ within 2 stderr in %d%%",
				tc.trace, tc.products, math.Sqrt(mseH), math.Sqrt(mseP), mseP/mseH, (mseH-mseP)/se, 100*cover/reps)
			if mseH-mseP < 4*se {
				t.Errorf("Hutch++ MSE %.3g not below Hutchinson's %.3g by 4 standard errors (%.3g)", mseP, mseH, se)
			}
			for _, e := range [][]float64{errH, errP} {
				m, v := meanVar(e)
				if math.Abs(m) > 4*math.Sqrt(v/reps) {
					t.Errorf("mean error %.3g, standard error %.3g: biased?", m, math.Sqrt(v/reps))
				}
			}
			if cover < reps*3/4 {
				t.Errorf("Hutch++ within 2 standard errors of the trace in only %d of %d repetitions", cover, reps)
			}
		})
	}
	if _, err := HutchPP(reg, 2, 1); err == nil {
		t.Error("2 products accepted")
	}
}

// TestHutchPPExactOnLowRank: when the sketch spans the whole space the estimate is exact.
func TestHutchPPExactOnLowRank(t *testing.T) {
	m := mat.NewSymDense(5, []float64{
		4, 1, 0, 0, 0,
		1, 3, 1, 0, 0,
		0, 1, 2, 1, 0,
		0, 0, 1, 5, 1,
		0, 0, 0, 1, 1,
	})
	e, err := HutchPP(denseOp{m}, 18, 3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(e.Trace-15) > 1e-9 {
		t.Errorf("trace %.12g, want 15", e.Trace)
	}
}

func squares(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = v * v
	}
	return out
}

// meanVar returns the mean and the unbiased variance.
func meanVar(x []float64) (float64, float64) {
	var s float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return m, ss / float64(len(x)-1)
}
