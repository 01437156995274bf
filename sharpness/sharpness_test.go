package sharpness

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/tensor"
	"gonum.org/v1/gonum/mat"
)

// TestLinearRegressionHessian: for linear regression with MSE the Hessian is exactly
// (2/n)[X 1]ᵀ[X 1]; the products, λ_max (Lanczos) and the trace (Hutchinson) must match an
// independent float64 computation.
func TestLinearRegressionHessian(t *testing.T) {
	for _, tc := range []struct {
		method Method
		batch  int
		tolH   float64 // max entry error relative to the largest entry
	}{
		{Exact, 0, 1e-5},
		{Exact, 64, 1e-5}, // several batches, float64 accumulation
		{FiniteDiff, 0, 1e-3},
		{FiniteDiff, 64, 1e-3},
	} {
		t.Run(fmt.Sprintf("%v/batch%d", tc.method, tc.batch), func(t *testing.T) {
			o, w, a := regression(t, 300, 5, tc.batch)
			want := exactRegressionHessian(a)
			h, err := NewHessian(o, w, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			if h.Method() != tc.method {
				t.Fatalf("method %v, want %v", h.Method(), tc.method)
			}
			if e := maxRelErr(denseOf(h), want); e > tc.tolH {
				t.Errorf("Hessian: relative error %.3g > %g", e, tc.tolH)
			}
			eig := symEigen(t, want)
			top, err := TopEigen(h, 2, LanczosOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if r := math.Abs(top.Values[0]/eig[0] - 1); r > 0.01 {
				t.Errorf("λ_max %.6g, exact %.6g (%.2g relative, want ≤ 1%%)", top.Values[0], eig[0], r)
			}
			if r := math.Abs(top.Values[1]/eig[1] - 1); r > 0.01 {
				t.Errorf("λ_2 %.6g, exact %.6g", top.Values[1], eig[1])
			}
			tr, err := Trace(h, 2000, 1)
			if err != nil {
				t.Fatal(err)
			}
			exact := mat.Trace(want)
			if r := math.Abs(tr.Trace/exact - 1); r > 0.05 {
				t.Errorf("trace %.6g ± %.2g, exact %.6g (%.2g relative, want ≤ 5%%)", tr.Trace, tr.StdErr, exact, r)
			}
			if math.Abs(tr.Trace-exact) > 4*tr.StdErr {
				t.Errorf("trace %.6g is %.1f standard errors from %.6g", tr.Trace, math.Abs(tr.Trace-exact)/tr.StdErr, exact)
			}
		})
	}
}

// tinyMLP returns a small MLP objective, random weights, and the same problem in float64.
func tinyMLP(t testing.TB, act, loss string, hidden []int) (*Objective, []float32, refMLP, []float64, []int, []float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, uint64(len(act)+len(loss))))
	const n, d = 40, 4
	k := 3
	spec := nn.Spec{Model: "mlp", Input: []int{d}, Outputs: k, Hidden: hidden, Activation: act, Loss: loss}
	s := &data.Set{Shape: []int{d}, X: make([]float32, n*d)}
	switch loss {
	case "ce":
		spec.LabelSmoothing = 0.1
		s.Classes, s.Labels = k, make([]int32, n)
	case "bce":
		k, spec.Outputs = 1, 1
		s.Classes, s.Labels = 2, make([]int32, n)
	case "mse":
		s.Outputs, s.Y = k, make([]float32, n*k)
	}
	x64 := make([]float64, n*d)
	for i := range s.X {
		s.X[i] = float32(rng.NormFloat64())
		x64[i] = float64(s.X[i])
	}
	labels := make([]int, n)
	y64 := make([]float64, n*k)
	for i := range n {
		if s.Labels != nil {
			labels[i] = rng.IntN(s.Classes)
			s.Labels[i] = int32(labels[i])
		}
	}
	for i := range s.Y {
		s.Y[i] = float32(rng.NormFloat64())
		y64[i] = float64(s.Y[i])
	}
	m, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 5)
	for i := range w {
		w[i] *= 2 // larger weights: more curvature from the activations
	}
	o, err := NewObjective(m, s, 16)
	if err != nil {
		t.Fatal(err)
	}
	sizes := append(append([]int{d}, hidden...), k)
	return o, w, refMLP{sizes: sizes, act: act, loss: loss, smooth: spec.LabelSmoothing}, x64, labels, y64
}

// TestTinyMLPHessian: Hessian-vector products match a dense float64 finite-difference Hessian of
// an independent float64 implementation to 1e-3 relative (max entry error / max entry).
func TestTinyMLPHessian(t *testing.T) {
	for _, tc := range []struct {
		act, loss string
		method    Method
		tol       float64
	}{
		{"tanh", "ce", Exact, 1e-5},
		{"sigmoid", "ce", Exact, 1e-5},
		{"relu", "ce", Exact, 1e-5},
		{"tanh", "mse", Exact, 1e-5},
		{"sigmoid", "bce", Exact, 1e-5},
		{"relu", "mse", Exact, 1e-5},
		{"tanh", "ce", FiniteDiff, 1e-3},
		{"sigmoid", "bce", FiniteDiff, 1e-3},
		{"tanh", "mse", FiniteDiff, 1e-3},
	} {
		t.Run(tc.act+"/"+tc.loss+"/"+tc.method.String(), func(t *testing.T) {
			o, w, ref, x, lab, y := tinyMLP(t, tc.act, tc.loss, []int{5, 4})
			w64 := make([]float64, len(w))
			for i, v := range w {
				w64[i] = float64(v)
			}
			want := ref.fdHessian(w64, x, lab, y, o.N())
			// The float64 reference agrees with the engine's loss.
			l32, _ := o.Loss(w)
			l64, _ := ref.lossGrad(w64, x, lab, y, o.N())
			if math.Abs(l32-l64) > 1e-5*math.Max(1, math.Abs(l64)) {
				t.Fatalf("loss %.8g, float64 reference %.8g", l32, l64)
			}
			h, err := NewHessian(o, w, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			got := denseOf(h)
			if e := maxRelErr(got, want); e > tc.tol {
				t.Errorf("relative error %.3g > %g", e, tc.tol)
			} else {
				t.Logf("relative error %.2g", e)
			}
		})
	}
}

// TestCacheAndBatches: the exact product does not depend on the batch size or on caching (all
// batches, none, or the first of them within the budget).
func TestCacheAndBatches(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{6})
	v := make([]float64, o.Dim())
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	var ref []float64
	for _, tc := range []struct {
		batch int
		limit int64 // Objective.Cache
		slots int   // cached batches, plus one shared by the rest where not all fit
	}{{0, 0, 1}, {7, 0, 6}, {7, -1, 1}, {7, 1700, 2}, {40, -1, 1}} {
		o.Batch, o.Cache = tc.batch, tc.limit
		h, err := NewHessian(o, w, Exact)
		o.Cache = 0
		if err != nil {
			t.Fatal(err)
		}
		if h.slots != tc.slots { // 120 bytes per example: 2 × 4 × (6 + 6 + 3) outputs
			t.Errorf("batch %d cache %d: %d state slots, want %d", tc.batch, tc.limit, h.slots, tc.slots)
		}
		out := make([]float64, len(v))
		for range 2 { // the second product uses the cache (or recomputes)
			h.Mul(out, v)
		}
		if ref == nil {
			ref = out
			continue
		}
		for i := range out {
			if math.Abs(out[i]-ref[i]) > 1e-5*(1+math.Abs(ref[i])) {
				t.Fatalf("batch %d cache limit %d: Hv[%d] = %g, want %g", tc.batch, tc.limit, i, out[i], ref[i])
			}
		}
	}
}

func TestLanczosDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 60
	var q mat.QR
	g := mat.NewDense(n, n, nil)
	for i := range n {
		for j := range n {
			g.Set(i, j, rng.NormFloat64())
		}
	}
	q.Factorize(g)
	var qm mat.Dense
	q.QTo(&qm)
	// Spectrum: a few outliers above a bulk, some negative, as in a network's Hessian.
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = rng.Float64()*0.2 - 0.05
	}
	vals[0], vals[1], vals[2] = 50, 20, 8
	var a mat.Dense
	a.Mul(&qm, mat.NewDiagDense(n, vals))
	a.Mul(&a, qm.T())
	s := mat.NewSymDense(n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			s.SetSym(i, j, (a.At(i, j)+a.At(j, i))/2)
		}
	}
	want := symEigen(t, s)
	for _, k := range []int{1, 3} {
		e, err := TopEigen(denseOp{s}, k, LanczosOptions{Seed: 3, Tol: 1e-6, MaxIter: 60, Vectors: true})
		if err != nil {
			t.Fatal(err)
		}
		// Each Ritz vector y satisfies ‖Sy − θy‖ ≤ residual (and is a unit vector).
		for i, y := range e.Vectors {
			sy := make([]float64, n)
			denseOp{s}.Mul(sy, y)
			axpy(-e.Values[i], y, sy)
			if r := norm(sy); r > 1e-5*want[0] || math.Abs(norm(y)-1) > 1e-12 {
				t.Errorf("k=%d: Ritz vector %d has residual %g, norm %g", k, i, r, norm(y))
			}
		}
		if !e.Converged {
			t.Errorf("k=%d: not converged after %d iterations", k, e.Iterations)
		}
		for i := range k {
			if math.Abs(e.Values[i]-want[i]) > 1e-6*want[0] {
				t.Errorf("k=%d: λ_%d = %.9g, want %.9g", k, i+1, e.Values[i], want[i])
			}
		}
	}
	tr, err := Trace(denseOp{s}, 4000, 2)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(tr.Trace-mat.Trace(s)) > 4*tr.StdErr {
		t.Errorf("trace %g ± %g, want %g", tr.Trace, tr.StdErr, mat.Trace(s))
	}
	// The density's weights sum to 1 and its mass sits at the outliers and the bulk.
	d, err := SpectralDensity(denseOp{s}, 30, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sum, top float64
	for i, w := range d.Weights {
		sum += w
		if d.Nodes[i] > 45 {
			top += w
		}
	}
	if math.Abs(sum-1) > 1e-9 || math.Abs(top-1.0/n) > 0.03 {
		t.Errorf("density: total weight %g (want 1), weight near 50 is %g (want ≈ %g)", sum, top, 1.0/n)
	}
	for _, bad := range []int{0, -1, n + 1} {
		if _, err := TopEigen(denseOp{s}, bad, LanczosOptions{}); err == nil {
			t.Errorf("k=%d: no error", bad)
		}
	}
	if _, err := Trace(denseOp{s}, 0, 1); err == nil {
		t.Error("0 trace samples: no error")
	}
}

// TestSAMSharpnessQuadratic: at the minimum of a quadratic the SAM sharpness is exactly
// ρ²λ_max/2; the ascent must reach it from below.
func TestSAMSharpnessQuadratic(t *testing.T) {
	o, w, a := regression(t, 300, 5, 0)
	lmax := symEigen(t, exactRegressionHessian(a))[0]
	for _, rho := range []float64{0.01, 0.1} {
		want := rho * rho * lmax / 2
		r, err := SAMSharpness(o, w, rho, AscentOptions{Steps: 40})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sharpness > want*(1+1e-3)+1e-6 || r.Sharpness < 0.95*want {
			t.Errorf("ρ=%g: SAM sharpness %.6g, want ρ²λ_max/2 = %.6g", rho, r.Sharpness, want)
		}
		m, err := MSharpness(o, w, rho, o.N(), AscentOptions{Steps: 40})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Sharpness-r.Sharpness) > 1e-9 {
			t.Errorf("m = n: m-sharpness %g, SAM sharpness %g", m.Sharpness, r.Sharpness)
		}
		m, err = MSharpness(o, w, rho, 32, AscentOptions{Steps: 10})
		if err != nil {
			t.Fatal(err)
		}
		// Each chunk's own maximum is at least the chunk loss at the shared maximiser.
		if m.Sharpness < 0.9*r.Sharpness {
			t.Errorf("m = 32: m-sharpness %g below the full-set value %g", m.Sharpness, r.Sharpness)
		}
	}
}

// TestEpsSharpnessQuadratic: on a quadratic the maximum over the box is at a vertex; with 6
// parameters all 64 vertices can be checked.
func TestEpsSharpnessQuadratic(t *testing.T) {
	o, wmin, a := regression(t, 300, 5, 0)
	h := exactRegressionHessian(a)
	for _, tc := range []struct {
		name     string
		shift    float32
		restarts int
	}{{"minimum", 0, 10}, {"off minimum", 0.01, 0}} {
		w := append([]float32(nil), wmin...)
		for i := range w {
			w[i] += tc.shift * float32(i+1)
		}
		g := make([]float64, len(w))
		l0 := o.LossGrad(w, g)
		const eps = 1e-2
		best := 0.0
		p := len(w)
		y := make([]float64, p)
		for mask := range 1 << p {
			for i := range p {
				y[i] = eps * (math.Abs(float64(w[i])) + 1)
				if mask>>i&1 == 1 {
					y[i] = -y[i]
				}
			}
			yv := mat.NewVecDense(p, y)
			var hy mat.VecDense
			hy.MulVec(h, yv)
			best = math.Max(best, mat.Dot(yv, &hy)/2+dot(g, y))
		}
		want := 100 * best / (1 + l0)
		r, err := EpsSharpness(o, w, eps, AscentOptions{Restarts: tc.restarts})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sharpness > want*(1+1e-3) || r.Sharpness < 0.9*want {
			t.Errorf("%s: ε-sharpness %.6g, the best vertex gives %.6g", tc.name, r.Sharpness, want)
		}
	}
}

func TestBadArguments(t *testing.T) {
	o, w, _ := regression(t, 50, 3, 0)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"rho 0", second(SAMSharpness(o, w, 0, AscentOptions{})), "--rho"},
		{"rho negative", second(SAMSharpness(o, w, -1, AscentOptions{})), "--rho"},
		{"rho NaN", second(SAMSharpness(o, w, math.NaN(), AscentOptions{})), "--rho"},
		{"m 0", second(MSharpness(o, w, 0.05, 0, AscentOptions{})), "--m"},
		{"eps negative", second(EpsSharpness(o, w, -1e-3, AscentOptions{})), "--eps"},
		{"subset 0", second(Subset(o.Set, 0, 1)), "--subset"},
		{"wrong weights", second(NewHessian(o, w[:2], Auto)), "parameters"},
		{"wrong weights sam", second(SAMSharpness(o, w[:2], 0.1, AscentOptions{})), "parameters"},
		{"line", second(Line(o, w, w[:1], []float64{0})), "parameters"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || strings.Contains(tc.err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line mentioning %q", tc.name, tc.err, tc.want)
		}
	}
	// The data must fit the model.
	m, _ := nn.Build(nn.Spec{Model: "linear", Input: []int{4}, Outputs: 1, Loss: "mse"})
	if _, err := NewObjective(m, o.Set, 0); err == nil || !strings.Contains(err.Error(), "features") {
		t.Errorf("mismatched features: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }

// unsupported is a layer the R-operator does not know.
type unsupported struct{ nn.Activation }

func TestFallbackToFiniteDifferences(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{3})
	o.Model.Layers = append([]nn.Layer{}, o.Model.Layers...)
	o.Model.Layers[1] = &unsupported{nn.Activation{Func: "tanh"}}
	if _, err := NewHessian(o, w, Exact); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Exact with an unknown layer: %v, want ErrUnsupported", err)
	}
	h, err := NewHessian(o, w, Auto)
	if err != nil || h.Method() != FiniteDiff {
		t.Fatalf("Auto: method %v, error %v; want a finite-difference fallback", h.Method(), err)
	}
}

func TestSubset(t *testing.T) {
	o, _, _ := regression(t, 100, 3, 0)
	a, err := Subset(o.Set, 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Subset(o.Set, 10, 7)
	c, _ := Subset(o.Set, 10, 8)
	if a.N() != 10 || fmt.Sprint(a.X) != fmt.Sprint(b.X) || fmt.Sprint(a.X) == fmt.Sprint(c.X) {
		t.Errorf("subset: want 10 rows, the same for the same seed and different for another")
	}
	if all, _ := Subset(o.Set, 1000, 1); all.N() != 100 {
		t.Errorf("subset larger than the set: %d rows", all.N())
	}
}

func TestLossGradBatches(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "relu", "ce", []int{5})
	g1 := make([]float64, o.Dim())
	g2 := make([]float64, o.Dim())
	o.Batch = 40
	l1 := o.LossGrad(w, g1)
	o.Batch = 7
	l2 := o.LossGrad(w, g2)
	if math.Abs(l1-l2) > 1e-6 {
		t.Errorf("loss %g with one batch, %g with batches of 7", l1, l2)
	}
	for i := range g1 {
		if math.Abs(g1[i]-g2[i]) > 1e-6 {
			t.Fatalf("grad[%d] %g with one batch, %g with batches of 7", i, g1[i], g2[i])
		}
	}
	if l, _ := o.Loss(w); math.Abs(l-l1) > 1e-6 {
		t.Errorf("Loss %g, LossGrad %g", l, l1)
	}
}

func TestDirectionAndLandscape(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{5})
	d := Direction(&o.Model.Layout, w, 1)
	if fmt.Sprint(d) != fmt.Sprint(Direction(&o.Model.Layout, w, 1)) || fmt.Sprint(d) == fmt.Sprint(Direction(&o.Model.Layout, w, 2)) {
		t.Error("directions must depend on the seed only")
	}
	for _, s := range o.Model.Layout.Spans {
		ds, ws := s.Of(d), s.Of(w)
		if s.Kind != 0 { // biases
			if tensor.SumSq64(ds) != 0 {
				t.Errorf("%s: direction not zero on a bias", s.Name)
			}
			continue
		}
		per := s.Shape[1]
		for r := range s.Shape[0] {
			dn := math.Sqrt(tensor.SumSq64(ds[r*per : (r+1)*per]))
			wn := math.Sqrt(tensor.SumSq64(ws[r*per : (r+1)*per]))
			if math.Abs(dn-wn) > 1e-5*wn {
				t.Errorf("%s row %d: direction norm %g, filter norm %g", s.Name, r, dn, wn)
			}
		}
	}
	alphas := Linspace(-1, 1, 5)
	line, err := Line(o, w, d, alphas)
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := o.Loss(w)
	if line[2].Alpha != 0 || line[2].Loss != l0 {
		t.Errorf("line at 0: %+v, loss at w %g", line[2], l0)
	}
	d2 := Direction(&o.Model.Layout, w, 2)
	plane, err := Plane(o, w, d, d2, alphas, alphas[:3])
	if err != nil {
		t.Fatal(err)
	}
	if len(plane) != 15 || plane[2*5+2].Loss != line[2].Loss || plane[2*5+4].Loss != line[4].Loss {
		t.Errorf("the plane's β = 0 row must equal the line")
	}
	b := make([]float32, len(w))
	path, err := Path(o, w, b, []float64{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := o.Loss(b)
	if path[0].Loss != l0 || path[1].Loss != lb {
		t.Errorf("path ends %g, %g; want %g, %g", path[0].Loss, path[1].Loss, l0, lb)
	}
}

func TestLambdaMaxHelper(t *testing.T) {
	o, w, a := regression(t, 300, 5, 0)
	want := symEigen(t, exactRegressionHessian(a))[0]
	got, err := LambdaMax(o.Model, w, o.Set, 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got/want-1) > 1e-3 {
		t.Errorf("LambdaMax %g, want %g", got, want)
	}
	if _, err := LambdaMax(o.Model, w, o.Set, 0, 1); err == nil {
		t.Error("subset 0: no error")
	}
}
