package sam

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// bowl is L(w) = ½Σ a_j (w_j − c_j)² for a weight [2,3] and a bias [2]; it records where it
// was evaluated. Internal tests of the random members use it to replay their noise.
type bowl struct {
	a, c []float64
	at   [][]float32
}

func (b *bowl) loss(w, g []float32, lo, hi int, second bool) float64 {
	b.at = append(b.at, append([]float32(nil), w...))
	var l float64
	for j, aj := range b.a {
		d := float64(w[j]) - b.c[j]
		l += 0.5 * aj * d * d
		g[j] = float32(aj * d)
	}
	return l
}

func (b *bowl) grad(w []float64) []float64 {
	g := make([]float64, len(w))
	for j := range w {
		g[j] = b.a[j] * (w[j] - b.c[j])
	}
	return g
}

func bowlLayout() *param.Layout {
	var l param.Layout
	l.Add("w", param.Weight, 2, 3)
	l.Add("b", param.Bias, 2)
	return &l
}

func newBowl() *bowl {
	return &bowl{a: []float64{1, 2, 3, 4, 5, 6, 0.5, 1.5}, c: []float64{0.1, -0.2, 0.3, 0.0, 0.2, -0.1, 0.4, -0.3}}
}

var bowlW = []float32{0.5, -0.4, 0.3, 0.9, -0.2, 0.1, 0.25, -0.6}

// TestRWPStep: one step replayed in float64 from the same normal draws: ε = σ‖W_j‖z per row of
// the weight, σ(‖b‖+1e-16)z for the bias, and the update (1−λ)∇L(w) + λ∇L(w+ε).
func TestRWPStep(t *testing.T) {
	const sigma, lam, lr = 0.05, 0.3, 0.1
	b := newBowl()
	o, err := New(&optim.SGD{}, bowlLayout(), Config{Rho: sigma, Variant: "rwp", Seed: 3, Params: map[string]float64{"rwp-lambda": lam}})
	if err != nil {
		t.Fatal(err)
	}
	w := append([]float32(nil), bowlW...)
	if _, err := o.Step(w, 1, b.loss, lr); err != nil {
		t.Fatal(err)
	}
	z := make([]float32, 8)
	normals(z, 3, 0)
	w0 := make([]float64, 8)
	for i, x := range bowlW {
		w0[i] = float64(x)
	}
	norm := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x * x
		}
		return math.Sqrt(s)
	}
	scale := []float64{norm(w0[0:3]), norm(w0[0:3]), norm(w0[0:3]), norm(w0[3:6]), norm(w0[3:6]), norm(w0[3:6]), norm(w0[6:8]) + 1e-16, norm(w0[6:8]) + 1e-16}
	at := make([]float64, 8)
	for i := range at {
		at[i] = w0[i] + sigma*scale[i]*float64(z[i])
	}
	if len(b.at) != 2 {
		t.Fatalf("%d passes, want 2", len(b.at))
	}
	for i := range at {
		if d := math.Abs(float64(b.at[1][i]) - at[i]); d > 1e-6 {
			t.Fatalf("noisy point %v, want %v", b.at[1], at)
		}
	}
	gc, gn := b.grad(w0), b.grad(at)
	for i := range w0 {
		want := w0[i] - lr*((1-lam)*gc[i]+lam*gn[i])
		if d := math.Abs(float64(w[i]) - want); d > 1e-6 {
			t.Fatalf("w[%d] = %g, want %g", i, w[i], want)
		}
	}
}

// TestRWPIndependentPasses: the noisy point depends on w, σ, the seed and the step only, not on
// the clean gradient.
func TestRWPIndependentPasses(t *testing.T) {
	at := func(c []float64) []float32 {
		b := newBowl()
		b.c = c
		o, err := New(&optim.SGD{}, bowlLayout(), Config{Rho: 0.05, Variant: "rwp", Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		w := append([]float32(nil), bowlW...)
		if _, err := o.Step(w, 1, b.loss, 0.1); err != nil {
			t.Fatal(err)
		}
		return b.at[1]
	}
	if p, q := at(newBowl().c), at(make([]float64, 8)); !reflect.DeepEqual(p, q) {
		t.Fatalf("noisy point moved with the data: %v and %v", p, q)
	}
}

// TestRWPLambdaZero: λ = 0 steps with the clean gradient: the base optimizer, bit for bit.
func TestRWPLambdaZero(t *testing.T) {
	b := newBowl()
	o, err := New(&optim.SGD{Momentum: 0.9}, bowlLayout(), Config{Rho: 0.05, Variant: "rwp", Params: map[string]float64{"rwp-lambda": 0}})
	if err != nil {
		t.Fatal(err)
	}
	w, ref := append([]float32(nil), bowlW...), append([]float32(nil), bowlW...)
	base, g := &optim.SGD{Momentum: 0.9}, make([]float32, 8)
	for range 30 {
		if _, err := o.Step(w, 1, b.loss, 0.05); err != nil {
			t.Fatal(err)
		}
		b.loss(ref, g, 0, 1, false)
		base.Step(ref, g, 0.05)
	}
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("λ = 0: %v, base optimizer %v", w, ref)
	}
}

// TestNormals: the draws have mean 0 and variance 1, depend on the seed and the step, and not
// on the thread count.
func TestNormals(t *testing.T) {
	z := make([]float32, 200000)
	normals(z, 1, 5)
	var s, ss float64
	for _, x := range z {
		s += float64(x)
		ss += float64(x) * float64(x)
	}
	m, v := s/float64(len(z)), ss/float64(len(z))
	if math.Abs(m) > 0.01 || math.Abs(v-1) > 0.02 {
		t.Fatalf("mean %g, variance %g", m, v)
	}
	z2 := make([]float32, 200000)
	normals(z2, 1, 6)
	if reflect.DeepEqual(z, z2) {
		t.Fatal("steps 5 and 6 drew the same noise")
	}
	normals(z2, 1, 5)
	if !reflect.DeepEqual(z, z2) {
		t.Fatal("the same seed and step drew different noise")
	}
	defer tensor.SetThreads(tensor.SetThreads(1))
	normals(z2, 1, 5)
	if !reflect.DeepEqual(z, z2) {
		t.Fatal("one thread drew other noise than the worker threads")
	}
}
