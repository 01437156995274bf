package sam_test

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
)

// safRun is softmax regression (2 inputs, 3 classes) on a training set of 3 examples, stepped
// through the batches below the way the training loop does: nn.Examples as the view, the first
// pass Model.Grad with the view's trajectory term.
type safRun struct {
	m   *nn.Model
	ex  *nn.Examples
	x   []float32 // the training set, 3 × 2
	lab []int32
	bx  []float32 // the batch, gathered
	bl  []int32
}

var safX, safLab = []float32{1, -0.5, 0.3, 0.8, -0.7, 0.2}, []int32{0, 2, 1}

// safBatches are the batches of positions in the training set (two "epochs" of two steps... in
// visit order: example 1 is seen in steps 1, 2 and 4).
var safBatches = [][]int{{0, 1}, {1, 2}, {0, 2}, {2, 1}, {1, 0}, {0, 2}}

func newSAFRun(t *testing.T) (*safRun, []float32) {
	t.Helper()
	m, err := nn.Build(nn.Spec{Model: "logistic", Input: []int{2}, Outputs: 3, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 3)
	for i := range w { // larger weights than the default, so that the term matters
		w[i] *= 3
	}
	r := &safRun{m: m, ex: &nn.Examples{Model: m, Ctx: &nn.Ctx{Train: true}}, x: safX, lab: safLab}
	return r, w
}

func (r *safRun) step(t *testing.T, o *sam.Optimizer, w []float32, batch []int, lr float64) {
	t.Helper()
	r.bx, r.bl = r.bx[:0], r.bl[:0]
	for _, i := range batch {
		r.bx = append(r.bx, r.x[2*i:2*i+2]...)
		r.bl = append(r.bl, r.lab[i])
	}
	n := len(batch)
	r.ex.X, r.ex.N, r.ex.T, r.ex.Idx = r.bx, n, nn.Target{Labels: r.bl}, batch
	loss := func(w, g []float32, lo, hi int, second bool) float64 {
		r.ex.Ctx.Second = second
		tt := nn.Target{Labels: r.bl[lo:hi], Traj: r.ex.Traj.Rows(lo, hi, 3)}
		l, _ := r.m.Grad(r.ex.Ctx, w, g, r.bx[2*lo:2*hi], hi-lo, tt)
		return l
	}
	if _, err := o.StepExamples(w, n, loss, r.ex, lr); err != nil {
		t.Fatal(err)
	}
}

func newSAF(t *testing.T, r *safRun, params map[string]float64) *sam.Optimizer {
	t.Helper()
	o, err := sam.New(&optim.SGD{}, &r.m.Layout, sam.Config{Variant: "saf", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestSAFStep: six SGD steps of SAF with E = 1, start 0, against a float64 reference written
// here from the paper's loss, with its gradient by central differences: an example's soft target
// is its softmax(z/τ) at the weights of its previous visit.
func TestSAFStep(t *testing.T) {
	const lambda, tau, lr = 0.5, 2.0, 0.3
	r, w := newSAFRun(t)
	o := newSAF(t, r, map[string]float64{"saf-lambda": lambda, "saf-tau": tau, "saf-epochs": 1, "saf-start": 0})
	ref := make([]float64, len(w))
	for i, v := range w {
		ref[i] = float64(v)
	}
	W, B := r.m.Layout.Spans[0], r.m.Layout.Spans[1]
	logits := func(w []float64, i int) []float64 {
		z := make([]float64, 3)
		for c := range 3 {
			z[c] = w[B.Off+c]
			for d := range 2 {
				z[c] += w[W.Off+c*2+d] * float64(safX[2*i+d])
			}
		}
		return z
	}
	softmax := func(z []float64, tau float64) []float64 {
		p, s := make([]float64, len(z)), 0.0
		for c, v := range z {
			p[c] = math.Exp(v / tau)
			s += p[c]
		}
		for c := range p {
			p[c] /= s
		}
		return p
	}
	mem := map[int][]float64{}
	for _, batch := range safBatches {
		q := map[int][]float64{}
		for _, i := range batch {
			if m, ok := mem[i]; ok {
				q[i] = m
			}
		}
		f := func(w []float64) float64 {
			var l float64
			for _, i := range batch {
				z := logits(w, i)
				l -= math.Log(softmax(z, 1)[safLab[i]])
				if qi, ok := q[i]; ok {
					p := softmax(z, tau)
					for c := range 3 {
						l += lambda * tau * tau * qi[c] * math.Log(qi[c]/p[c])
					}
				}
			}
			return l / float64(len(batch))
		}
		g := make([]float64, len(ref))
		for j := range ref {
			const h = 1e-6
			a, b := append([]float64(nil), ref...), append([]float64(nil), ref...)
			a[j] += h
			b[j] -= h
			g[j] = (f(a) - f(b)) / (2 * h)
		}
		for _, i := range batch {
			mem[i] = softmax(logits(ref, i), tau)
		}
		for j := range ref {
			ref[j] -= lr * g[j]
		}
		r.step(t, o, w, batch, lr)
	}
	near(t, "w", w, ref, 1e-5)

	// The same steps without the term are a different trajectory (the term is not negligible).
	r2, w2 := newSAFRun(t)
	base := newSAF(t, r2, map[string]float64{"saf-lambda": 0})
	for _, b := range safBatches {
		r2.step(t, base, w2, b, lr)
	}
	var diff float64
	for i := range w {
		diff = max(diff, math.Abs(float64(w[i]-w2[i])))
	}
	if diff < 1e-3 {
		t.Fatalf("SAF and λ = 0 differ by %g only: the term does not act", diff)
	}
}

// TestSAFLimit: λ = 0, and λ > 0 before any example has a soft target, are the base optimizer
// bit for bit.
func TestSAFLimit(t *testing.T) {
	run := func(cfg sam.Config, nsteps int) []float32 {
		r, w := newSAFRun(t)
		o, err := sam.New(&optim.SGD{Momentum: 0.9}, &r.m.Layout, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range safBatches[:nsteps] {
			r.step(t, o, w, b, 0.1)
		}
		return w
	}
	base := run(sam.Config{}, 6)
	if got := run(sam.Config{Variant: "saf", Params: map[string]float64{"saf-lambda": 0}}, 6); !reflect.DeepEqual(got, base) {
		t.Fatalf("λ = 0: %v, base %v", got, base)
	}
	// default E = 2, start 5: no example has its sixth visit within six steps
	if got := run(sam.Config{Variant: "saf"}, 6); !reflect.DeepEqual(got, base) {
		t.Fatalf("before the start: %v, base %v", got, base)
	}
	// E = 1, start 0: example 1's second visit is step 2
	if got := run(sam.Config{Variant: "saf", Params: map[string]float64{"saf-epochs": 1, "saf-start": 0}}, 6); reflect.DeepEqual(got, base) {
		t.Fatal("E = 1, start 0: same as the base optimizer")
	}
}

// TestSAFResume: the memory of past outputs is saved and restored; the resumed run continues bit
// for bit. A state with broken sizes is refused.
func TestSAFResume(t *testing.T) {
	params := map[string]float64{"saf-epochs": 2, "saf-start": 1}
	r, ref := newSAFRun(t)
	o := newSAF(t, r, params)
	for _, b := range safBatches {
		r.step(t, o, ref, b, 0.2)
	}
	r, w := newSAFRun(t)
	o = newSAF(t, r, params)
	for _, b := range safBatches[:3] {
		r.step(t, o, w, b, 0.2)
	}
	var st optim.State
	o.SaveState(&st, "opt.")
	if st.Vectors["opt.rule.outputs"] == nil {
		t.Fatal("no outputs saved")
	}
	r, _ = newSAFRun(t)
	o2 := newSAF(t, r, params)
	if err := o2.LoadState(&st, "opt."); err != nil {
		t.Fatal(err)
	}
	for _, b := range safBatches[3:] {
		r.step(t, o2, w, b, 0.2)
	}
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("resumed %v, uninterrupted %v", w, ref)
	}
	st.Numbers["opt.rule.classes"] = 4
	if err := newSAF(t, r, params).LoadState(&st, "opt."); err == nil || !strings.Contains(err.Error(), "outputs") {
		t.Fatalf("wrong class count: err = %v", err)
	}
	st.Numbers["opt.rule.classes"] = 3
	st.Vectors["opt.rule.seen"][0] = 0.5
	if err := newSAF(t, r, params).LoadState(&st, "opt."); err == nil || !strings.Contains(err.Error(), "visit count") {
		t.Fatalf("fractional count: err = %v", err)
	}
}

// TestSAFSettings: the settings' errors name the flag.
func TestSAFSettings(t *testing.T) {
	for _, tc := range []struct {
		cfg  sam.Config
		want string
	}{
		{sam.Config{Variant: "saf", Params: map[string]float64{"saf-tau": 0}}, "--saf-tau"},
		{sam.Config{Variant: "saf", Params: map[string]float64{"saf-epochs": 0}}, "--saf-epochs"},
		{sam.Config{Variant: "saf", Params: map[string]float64{"saf-epochs": 1.5}}, "--saf-epochs"},
		{sam.Config{Variant: "saf", Params: map[string]float64{"saf-lambda": -1}}, "--saf-lambda"},
		{sam.Config{Variant: "saf", AscentSteps: 2}, "--ascent-steps"},
		{sam.Config{Variant: "saf", Adaptive: true}, "--adaptive"},
		{sam.Config{Variant: "mesa", P: 3}, "--p"},
		{sam.Config{Variant: "mesa", Params: map[string]float64{"mesa-decay": 1.5}}, "--mesa-decay"},
		{sam.Config{Variant: "sam", Params: map[string]float64{"saf-lambda": 1}}, "--saf-lambda"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %s", tc.cfg, err, tc.want)
		}
	}
}
