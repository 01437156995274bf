package sharpness

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/param"
	"gonum.org/v1/gonum/mat"
)

func TestSelectSpans(t *testing.T) {
	var l param.Layout
	l.Add("conv1.weight", param.Weight, 2, 3)
	l.Add("conv1.bias", param.Bias, 2)
	l.Add("conv2.weight", param.Weight, 4)
	l.Add("fc.bias", param.Bias, 1)
	for _, tc := range []struct {
		pats []string
		want string
	}{
		{[]string{"conv2.*"}, "conv2.weight"},
		{[]string{"*.weight"}, "conv1.weight conv2.weight"},
		{[]string{"*.bias", "conv1.weight"}, "conv1.weight conv1.bias fc.bias"},
		{[]string{"*"}, "conv1.weight conv1.bias conv2.weight fc.bias"},
	} {
		s, err := SelectSpans(&l, tc.pats)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range s {
			names = append(names, x.Name)
		}
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.pats, got, tc.want)
		}
	}
	for _, tc := range []struct {
		pats []string
		want string
	}{
		{[]string{"conv3.*"}, `"conv3.*" matches no parameter`},
		{[]string{"conv[.*"}, "malformed"},
		{nil, "no parameter patterns"},
	} {
		if _, err := SelectSpans(&l, tc.pats); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.pats, err, tc.want)
		}
	}
}

// mirroredRegression is a linear regression (MSE, one output) on examples that come in pairs
// x, −x: Σx = 0 exactly, so the Hessian 2/n·[XᵀX Σx; Σxᵀ n] is block diagonal with blocks
// 2/n·XᵀX (weights) and 2 (bias).
func mirroredRegression(t *testing.T, pairs, d int) (*Objective, []float32, *mat.SymDense) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 2 * pairs
	s := &data.Set{Shape: []int{d}, Outputs: 1, X: make([]float32, n*d), Y: make([]float32, n)}
	xm := mat.NewDense(n, d, nil)
	for p := range pairs {
		c := rng.NormFloat64()
		for j := range d {
			v := float32((rng.NormFloat64() + 0.7*c) * float64(j+1))
			s.X[2*p*d+j], s.X[(2*p+1)*d+j] = v, -v
			xm.Set(2*p, j, float64(v))
			xm.Set(2*p+1, j, -float64(v))
		}
		s.Y[2*p], s.Y[2*p+1] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	m, err := nn.Build(nn.Spec{Model: "linear", Input: []int{d}, Outputs: 1, Loss: "mse"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewObjective(m, s, 7)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	var hw mat.SymDense
	hw.SymOuterK(2/float64(n), xm.T())
	return o, w, &hw
}

// TestByLayerBlockDiagonal: on a model whose Hessian is block diagonal (mirrored linear
// regression), the per-layer λ_max and traces are the dense blocks' eigenvalues and traces,
// computed independently in float64 from the data; the whole-model λ_max is the larger one.
func TestByLayerBlockDiagonal(t *testing.T) {
	o, w, hw := mirroredRegression(t, 30, 6)
	h, err := NewHessian(o, w, Exact)
	if err != nil {
		t.Fatal(err)
	}
	// The Hessian is block diagonal: the weight-bias entries vanish.
	full := denseOf(h)
	for j := range 6 {
		if v := full.At(j, 6); math.Abs(v) > 1e-5 {
			t.Fatalf("H[w%d, b] = %g, want 0 (mirrored data)", j, v)
		}
	}
	layers, err := ByLayer(h, o.Model.Layout.Spans, LanczosOptions{Seed: 3, Tol: 1e-8}, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 || layers[0].Name != "linear.weight" || layers[1].Name != "linear.bias" {
		t.Fatalf("layers %+v", layers)
	}
	ew := symEigen(t, hw)
	for _, tc := range []struct {
		got, want float64
		what      string
	}{
		{layers[0].LambdaMax, ew[0], "weight λ_max"},
		{layers[1].LambdaMax, 2, "bias λ_max"},
		{layers[0].Trace, mat.Trace(hw), "weight trace"},
		{layers[1].Trace, 2, "bias trace"},
	} {
		if math.Abs(tc.got-tc.want) > 1e-5*math.Abs(tc.want) {
			t.Errorf("%s %.8g, dense block %.8g", tc.what, tc.got, tc.want)
		}
	}
	if !layers[0].TraceExact || !layers[0].Converged {
		t.Errorf("weight block: %+v", layers[0])
	}
	e, err := TopEigen(h, 1, LanczosOptions{Seed: 3, Tol: 1e-8})
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Max(ew[0], 2); math.Abs(e.Values[0]-want) > 1e-5*want {
		t.Errorf("whole-model λ_max %.8g, want max of the blocks' %.8g", e.Values[0], want)
	}
}

// TestBlockOfMLP: on an MLP (whose Hessian is not block diagonal) a block is the dense Hessian's
// diagonal submatrix, and its Lanczos λ_max and Hutchinson trace are that submatrix's.
func TestBlockOfMLP(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{5})
	h, err := NewHessian(o, w, Exact)
	if err != nil {
		t.Fatal(err)
	}
	full := denseOf(h)
	spans, err := SelectSpans(&o.Model.Layout, []string{"*.bias", "fc1.weight"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBlock(h, spans)
	if err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, s := range spans {
		for i := s.Off; i < s.End(); i++ {
			idx = append(idx, i)
		}
	}
	sub := mat.NewSymDense(len(idx), nil)
	for i, a := range idx {
		for j, c := range idx {
			sub.SetSym(i, j, (full.At(a, c)+full.At(c, a))/2)
		}
	}
	if e := maxRelErr(denseOf(b), sub); e > 1e-6 {
		t.Errorf("block differs from the dense submatrix by %.3g", e)
	}
	want := symEigen(t, sub)
	e, err := TopEigen(b, 2, LanczosOptions{Seed: 1, Tol: 1e-9, MaxIter: b.Dim()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if math.Abs(e.Values[i]-want[i]) > 1e-5*math.Abs(want[0]) {
			t.Errorf("eigenvalue %d: %.8g, dense %.8g", i, e.Values[i], want[i])
		}
	}
	tr, err := Trace(b, 400, 9)
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(tr.Trace - mat.Trace(sub)); d > 4*tr.StdErr {
		t.Errorf("Hutchinson trace %.6g ± %.2g, dense %.6g", tr.Trace, tr.StdErr, mat.Trace(sub))
	}
	if _, err := NewBlock(h, append(spans, spans[0])); err == nil {
		t.Error("overlapping spans accepted")
	}
}
