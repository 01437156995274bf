package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// TestGCSAMHandStep: one step of plain SGD (lr = 0.1, ρ = 0.1) on L(w) = ½ Σ a_j w_j² with a
// weight W of shape [2, 2] and a bias b, a = (1, 2, 3, 4, 1), from w = (1, 2, −1, 0.5, 0.3):
//
//	g      = a∘w = (1, 4, −3, 2, 0.3)
//	Φ(g)   = rows of W minus their means 2.5 and −0.5, b as is = (−1.5, 1.5, −2.5, 2.5, 0.3)
//	ε      = 0.1·Φ(g)/‖Φ(g)‖, ‖Φ(g)‖ = √17.09 (2.25 + 2.25 + 6.25 + 6.25 + 0.09)
//	g_p    = a∘(w+ε); w ← w − 0.1·g_p, or w − 0.1·Φ(g_p) with --gcsam-descent 1
func TestGCSAMHandStep(t *testing.T) {
	a := []float64{1, 2, 3, 4, 1}
	w0 := []float64{1, 2, -1, 0.5, 0.3}
	phi := []float64{-1.5, 1.5, -2.5, 2.5, 0.3}
	n := math.Sqrt(17.09)
	gp := make([]float64, 5)
	for j := range gp {
		gp[j] = a[j] * (w0[j] + 0.1*phi[j]/n)
	}
	centred := append([]float64(nil), gp...)
	for r := 0; r < 4; r += 2 {
		m := (gp[r] + gp[r+1]) / 2
		centred[r], centred[r+1] = gp[r]-m, gp[r+1]-m
	}
	var l param.Layout
	l.Add("W", param.Weight, 2, 2)
	l.Add("b", param.Bias, 1)
	for _, descent := range []float64{0, 1} {
		q := newQuad(a)
		o, err := sam.New(&optim.SGD{}, &l, sam.Config{Rho: 0.1, Variant: "gcsam", Params: map[string]float64{"gcsam-descent": descent}})
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1, 2, -1, 0.5, 0.3}
		if _, err := o.Step(w, 1, q.loss, 0.1); err != nil {
			t.Fatal(err)
		}
		wantAt := make([]float64, 5)
		want := make([]float64, 5)
		for j := range want {
			wantAt[j] = w0[j] + 0.1*phi[j]/n
			d := gp[j]
			if descent == 1 {
				d = centred[j]
			}
			want[j] = w0[j] - 0.1*d
		}
		near(t, "w+ε", q.at[1], wantAt, 1e-6)
		near(t, "w", w, want, 1e-6)
	}
}

// TestGCSAMLimit: without tensors of rank ≥ 2 GCSAM is SAM, bit for bit (with either setting).
func TestGCSAMLimit(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 25, 0.02)
	for _, d := range []float64{0, 1} {
		w, _ := run(t, sam.Config{Rho: 0.1, Variant: "gcsam", Params: map[string]float64{"gcsam-descent": d}}, 25, 0.02)
		if !reflect.DeepEqual(w, ref) {
			t.Fatalf("gcsam-descent %g: %v, SAM %v", d, w, ref)
		}
	}
	if err := (sam.Config{Rho: 0.1, Variant: "gcsam", AscentSteps: 2}).Validate(); err == nil || !contains(err.Error(), "--ascent-steps") {
		t.Fatalf("two ascent steps gave %v", err)
	}
}
