package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTrajectoryGradient checks SAF's term against finite differences, alone on the logits and
// inside Model.Grad (cross-entropy plus the term) on an MLP's weights.
func TestTrajectoryGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	n, k := 5, 4
	soft := func() *Trajectory {
		q := make([]float32, n*k)
		for r := range n { // a softmax row per example
			var s float32
			for j := range k {
				q[r*k+j] = float32(rng.Float64() + 0.05)
				s += q[r*k+j]
			}
			for j := range k {
				q[r*k+j] /= s
			}
		}
		return &Trajectory{Lambda: 0.7, Tau: 3, Q: q, Have: []bool{true, false, true, true, true}, P: make([]float32, n*k)}
	}
	tr := soft()
	z := randVec(rng, n*k, 2)
	d := make([]float32, n*k)
	tr.Eval(z, n, k, d)
	compare(t, "dz", z, d, func() float64 { return tr.Eval(z, n, k, nil) }, 1e-2)
	for j := range k { // row 1 has no target: no gradient
		if d[k+j] != 0 {
			t.Fatalf("row without target has gradient %v", d[k:2*k])
		}
	}

	m, err := Build(Spec{Model: "mlp", Input: []int{5}, Outputs: k, Hidden: []int{6}, Activation: "tanh", Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	x := randVec(rng, n*m.InDim(), 1)
	tgt := Target{Labels: []int32{0, 3, 1, 2, 2}, Traj: soft()}
	g := make([]float32, len(w))
	l, _ := m.Grad(&Ctx{}, w, g, x, n, tgt)
	f := func() float64 {
		out := m.Forward(&Ctx{}, w, x, n)
		return m.Loss.Eval(out, n, k, tgt, nil) + tgt.Traj.Eval(out, n, k, nil)
	}
	if l != f() {
		t.Fatalf("Grad's loss %g is not CE + term %g", l, f())
	}
	compare(t, "dw", w, g, f, fdH)
}

// TestTrajectoryValue pins the term to a value computed by hand, and P to softmax(z/τ).
func TestTrajectoryValue(t *testing.T) {
	// z = (0, 2·ln 3), τ = 2: softmax(z/τ) = (1/4, 3/4). q = (1/2, 1/2):
	// KL = ½ln(½/¼) + ½ln(½/¾) = ½ln2 + ½ln(2/3); term = λτ²·KL/n with n = 1.
	z := []float32{0, float32(2 * math.Log(3))}
	tr := &Trajectory{Lambda: 0.5, Tau: 2, Q: []float32{0.5, 0.5}, Have: []bool{true}, P: make([]float32, 2)}
	d := make([]float32, 2)
	got := tr.Eval(z, 1, 2, d)
	want := 0.5 * 4 * (0.5*math.Log(2) + 0.5*math.Log(2.0/3))
	if math.Abs(got-want) > 1e-6 {
		t.Fatalf("term = %g, want %g", got, want)
	}
	if math.Abs(float64(tr.P[0])-0.25) > 1e-6 || math.Abs(float64(tr.P[1])-0.75) > 1e-6 {
		t.Fatalf("P = %v, want (1/4, 3/4)", tr.P)
	}
	// gradient λτ(p − q) = 0.5·2·(−1/4, 1/4)
	if math.Abs(float64(d[0])+0.25) > 1e-6 || math.Abs(float64(d[1])-0.25) > 1e-6 {
		t.Fatalf("dz = %v, want (−0.25, 0.25)", d)
	}
}
