package sam_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/optimize/functions"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

var gonumTable = flag.Bool("gonum-table", false, "TestGonumConvergence: print RESULTS.md's table of the gonum method on optimize/functions")

// regression is the seed's linear regression: f(w, b) = mean over examples of (w·x_i + b − y_i)²,
// on fixed data (3 features, 24 examples); with batch set, only the examples of that batch.
type regression struct {
	x     [][]float64
	y     []float64
	batch []int // nil: every example
	calls []int // the first example of the batch at each Grad call (for the stochastic test)
}

func newRegression() *regression {
	r := &regression{}
	for i := range 24 {
		a, b, c := math.Sin(float64(i)), math.Cos(1.7*float64(i)), float64(i%5)/2-1
		r.x = append(r.x, []float64{a, b, c})
		r.y = append(r.y, 1.5*a-2*b+0.5*c+0.3+0.1*math.Sin(7*float64(i)))
	}
	return r
}

func (r *regression) examples() []int {
	if r.batch != nil {
		return r.batch
	}
	idx := make([]int, len(r.y))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func (r *regression) Func(w []float64) float64 {
	var s float64
	ex := r.examples()
	for _, i := range ex {
		e := w[0]*r.x[i][0] + w[1]*r.x[i][1] + w[2]*r.x[i][2] + w[3] - r.y[i]
		s += e * e
	}
	return s / float64(len(ex))
}

func (r *regression) Grad(g, w []float64) {
	clear(g)
	ex := r.examples()
	r.calls = append(r.calls, ex[0])
	for _, i := range ex {
		e := w[0]*r.x[i][0] + w[1]*r.x[i][1] + w[2]*r.x[i][2] + w[3] - r.y[i]
		for j := range 3 {
			g[j] += 2 * e * r.x[i][j] / float64(len(ex))
		}
		g[3] += 2 * e / float64(len(ex))
	}
}

// leastSquares returns the full-batch least-squares fit (w, b), by QR.
func (r *regression) leastSquares(t *testing.T) []float64 {
	a := mat.NewDense(len(r.y), 4, nil)
	for i, x := range r.x {
		a.SetRow(i, []float64{x[0], x[1], x[2], 1})
	}
	var fit mat.VecDense
	if err := fit.SolveVec(a, mat.NewVecDense(len(r.y), r.y)); err != nil {
		t.Fatal(err)
	}
	return fit.RawVector().Data
}

func regressionLayout() *param.Layout {
	var l param.Layout
	l.Add("w", param.Weight, 3)
	l.Add("b", param.Bias, 1)
	return &l
}

// TestRegressionGradient checks the test objective's gradient against central differences.
func TestRegressionGradient(t *testing.T) {
	r := newRegression()
	w := []float64{0.3, -0.7, 1.1, 0.2}
	g := make([]float64, 4)
	r.Grad(g, w)
	for j := range w {
		h := 1e-6
		wp, wm := append([]float64(nil), w...), append([]float64(nil), w...)
		wp[j] += h
		wm[j] -= h
		fd := (r.Func(wp) - r.Func(wm)) / (2 * h)
		if math.Abs(fd-g[j]) > 1e-6*(1+math.Abs(fd)) {
			t.Fatalf("∂f/∂w%d = %g, finite differences %g", j, g[j], fd)
		}
	}
}

// iterates is a Recorder that keeps x at every major iteration.
type iterates struct{ xs [][]float64 }

func (*iterates) Init() error { return nil }
func (r *iterates) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if op == optimize.MajorIteration {
		r.xs = append(r.xs, append([]float64(nil), loc.X...))
	}
	return nil
}

// minimizeSteps runs m for steps steps from x0 and returns x0, x1, ..., x_steps.
func minimizeSteps(t *testing.T, p optimize.Problem, x0 []float64, steps int, m optimize.Method) ([][]float64, *optimize.Result) {
	t.Helper()
	rec := &iterates{}
	res, err := optimize.Minimize(p, x0, &optimize.Settings{
		MajorIterations: steps + 1, Converger: optimize.NeverTerminate{}, Recorder: rec,
	}, m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != optimize.IterationLimit {
		t.Fatalf("status %v, want IterationLimit", res.Status)
	}
	// Minimize records every major iteration but the one that ends the run: that is Result.X.
	return append(rec.xs, res.X), res
}

// coreSteps runs the float32 core (sam.New around optim.New) on the same objective.
func coreSteps(t *testing.T, f func([]float64) float64, grad func(g, x []float64), x0 []float64, steps int,
	cfg sam.Config, base optim.Config, layout *param.Layout, lr func(int) float64) [][]float32 {
	t.Helper()
	if base.Name == "" {
		base.Name = "sgd"
	}
	b, err := optim.New(base, layout)
	if err != nil {
		t.Fatal(err)
	}
	o, err := sam.New(b, layout, cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := len(x0)
	x64, g64 := make([]float64, n), make([]float64, n)
	loss := func(w, g []float32, lo, hi int, second bool) float64 {
		for i, v := range w {
			x64[i] = float64(v)
		}
		grad(g64, x64)
		for i, v := range g64 {
			g[i] = float32(v)
		}
		return f(x64)
	}
	w := make([]float32, n)
	for i, v := range x0 {
		w[i] = float32(v)
	}
	xs := [][]float32{append([]float32(nil), w...)}
	for s := range steps {
		if _, err := o.Step(w, 1, loss, lr(s)); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, append([]float32(nil), w...))
	}
	return xs
}

// TestGonumMatchesCore: the gonum method takes the same steps as the float32 core (sam.New with
// optim.New's base optimizer) for every member and setting it runs, to float32 tolerance.
func TestGonumMatchesCore(t *testing.T) {
	with := func(c sam.Config, kv ...any) sam.Config {
		for i := 0; i < len(kv); i += 2 {
			c = c.With(kv[i].(string), kv[i+1].(float64))
		}
		return c
	}
	sgdm := optim.Config{Name: "sgd", Momentum: 0.9}
	if *gonumTable {
		fmt.Println("| case | sam.Config | base | steps | largest move from x0 | largest difference from the core (relative) |")
		fmt.Println("|---|---|---|---|---|---|")
	}
	for _, tc := range []struct {
		name string
		cfg  sam.Config
		base optim.Config
	}{
		{"rho0-sgd", sam.Config{}, optim.Config{}},
		{"sam-sgd", sam.Config{Rho: 0.05}, optim.Config{}},
		{"sam-momentum", sam.Config{Rho: 0.05}, sgdm},
		{"sam-nesterov", sam.Config{Rho: 0.05}, optim.Config{Name: "sgd", Momentum: 0.8, Nesterov: true}},
		{"sam-adam", sam.Config{Rho: 0.05}, optim.Config{Name: "adam"}},
		{"sam-adamw-clip", sam.Config{Rho: 0.05}, optim.Config{Name: "adamw", WeightDecay: 0.1, Clip: 0.5}},
		{"sam-l2", sam.Config{Rho: 0.05, L2: 0.1}, sgdm},
		{"sam-pinf", sam.Config{Rho: 0.02, P: math.Inf(1)}, sgdm},
		{"sam-p3", sam.Config{Rho: 0.05, P: 3}, sgdm},
		{"asam", sam.Config{Rho: 0.5, Adaptive: true, Eta: 0.05}, sgdm},
		{"asam-pinf", sam.Config{Rho: 0.1, Adaptive: true, P: math.Inf(1)}, sgdm},
		{"ascent3", sam.Config{Rho: 0.05, AscentSteps: 3}, sgdm},
		{"ascent3-pinf", sam.Config{Rho: 0.02, AscentSteps: 3, P: math.Inf(1)}, sgdm},
		{"usam", sam.Config{Rho: 0.1, Variant: "usam"}, sgdm},
		{"usam-asam", sam.Config{Rho: 0.5, Variant: "usam", Adaptive: true}, sgdm},
		{"gsam", with(sam.Config{Rho: 0.3, Variant: "gsam"}, "gsam-alpha", 0.5), sgdm},
		{"gsam-rho-follows-lr", with(sam.Config{Rho: 0.1, Variant: "gsam", LRMin: 0.005, LRMax: 0.02}, "rho-min", 0.01), sgdm},
		{"looksam", with(sam.Config{Rho: 0.05, Variant: "looksam"}, "looksam-k", 3.0, "looksam-alpha", 0.7), sgdm},
		{"looksam-k1", with(sam.Config{Rho: 0.05, Variant: "looksam"}, "looksam-k", 1.0), sgdm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const steps = 40
			worst := 0.0
			r := newRegression()
			layout := regressionLayout()
			lr := func(s int) float64 { return 0.02 * math.Pow(0.97, float64(s)) }
			x0 := []float64{0.5, 0.5, -0.5, 0}
			m := &sam.Gonum{Config: tc.cfg, Base: tc.base, LRAt: lr, Layout: layout}
			got, _ := minimizeSteps(t, optimize.Problem{Func: r.Func, Grad: r.Grad}, x0, steps, m)
			want := coreSteps(t, r.Func, r.Grad, x0, steps, tc.cfg, tc.base, layout, lr)
			if len(got) != len(want) {
				t.Fatalf("%d iterates, core %d", len(got), len(want))
			}
			moved := 0.0
			for s := range want {
				for i := range want[s] {
					w := float64(want[s][i])
					d := math.Abs(got[s][i]-w) / (1 + math.Abs(w))
					if d > 2e-5 {
						t.Fatalf("step %d, x[%d] = %.7g, core %.7g", s, i, got[s][i], w)
					}
					worst = max(worst, d)
					moved = max(moved, math.Abs(w-x0[i]))
				}
			}
			if moved < 0.1 {
				t.Fatalf("the iterates hardly moved (%.3g): the check says nothing", moved)
			}
			if *gonumTable {
				fmt.Printf("| %s | %s | %s | %d | %.2g | %.2g |\n", tc.name, cfgJSON(tc.cfg), baseName(tc.base), steps, moved, worst)
			}
		})
	}
}

// TestGonumMatchesCoreRosenbrock: the same check on Rosenbrock's curved valley, where the
// p = 2 ascent direction turns at every step.
func TestGonumMatchesCoreRosenbrock(t *testing.T) {
	f := functions.ExtendedRosenbrock{}
	x0 := []float64{-1.2, 1}
	cfg, base := sam.Config{Rho: 0.05}, optim.Config{Name: "sgd", Momentum: 0.9}
	lr := func(int) float64 { return 2e-4 }
	got, _ := minimizeSteps(t, optimize.Problem{Func: f.Func, Grad: f.Grad}, x0, 60, &sam.Gonum{Config: cfg, Base: base, LR: 2e-4})
	want := coreSteps(t, f.Func, f.Grad, x0, 60, cfg, base, regressionLayout2(), lr)
	for s := range want {
		for i := range want[s] {
			w := float64(want[s][i])
			if d := math.Abs(got[s][i] - w); d > 2e-5*(1+math.Abs(w)) {
				t.Fatalf("step %d, x[%d] = %.7g, core %.7g", s, i, got[s][i], w)
			}
		}
	}
	if d := math.Hypot(got[60][0]-x0[0], got[60][1]-x0[1]); d < 0.05 {
		t.Fatalf("moved only %.3g", d)
	}
}

func cfgJSON(c sam.Config) string {
	b, _ := json.Marshal(c)
	return "`" + string(b) + "`"
}

func baseName(b optim.Config) string {
	if b.Name == "" {
		b.Name = "sgd"
	}
	js, _ := json.Marshal(b)
	return "`" + string(js) + "`"
}

func regressionLayout2() *param.Layout {
	var l param.Layout
	l.Add("x", param.Weight, 2)
	return &l
}

// TestGonumEvaluations: a SAM step costs one Func and two Grad evaluations (ρ = 0: one and one),
// and ρ = 0 is gradient descent, x ← x − η∇f(x).
func TestGonumEvaluations(t *testing.T) {
	r := newRegression()
	p := optimize.Problem{Func: r.Func, Grad: r.Grad}
	x0 := []float64{0.5, 0.5, -0.5, 0}
	for _, tc := range []struct {
		rho        float64
		grads, fns int
	}{{0, 11, 11}, {0.05, 21, 11}} {
		xs, res := minimizeSteps(t, p, x0, 10, &sam.Gonum{Config: sam.Config{Rho: tc.rho}, LR: 0.05})
		if res.GradEvaluations != tc.grads || res.FuncEvaluations != tc.fns {
			t.Errorf("ρ=%g: %d Grad and %d Func evaluations for 10 steps, want %d and %d",
				tc.rho, res.GradEvaluations, res.FuncEvaluations, tc.grads, tc.fns)
		}
		if tc.rho == 0 {
			x, g := append([]float64(nil), x0...), make([]float64, 4)
			for s := 1; s <= 10; s++ {
				r.Grad(g, x)
				for i := range x {
					x[i] -= 0.05 * g[i]
				}
				for i := range x {
					if xs[s][i] != x[i] {
						t.Fatalf("ρ=0, step %d: x = %v, gradient descent %v", s, xs[s], x)
					}
				}
			}
		}
		if got, want := res.F, r.Func(res.X); got != want {
			t.Errorf("Result.F = %g, f(Result.X) = %g", got, want)
		}
	}
}

// TestGonumStochastic: with NextBatch, both gradients of a step see the step's batch, and SAM
// on mini-batches of the regression reaches the full-batch least-squares fit's neighbourhood.
func TestGonumStochastic(t *testing.T) {
	r := newRegression()
	var batches []int
	next := func(t int) {
		lo := (t * 6) % 24
		r.batch = []int{lo, lo + 1, lo + 2, lo + 3, lo + 4, lo + 5}
		batches = append(batches, lo)
	}
	const steps = 400
	res, err := optimize.Minimize(optimize.Problem{Func: r.Func, Grad: r.Grad}, []float64{0, 0, 0, 0},
		&optimize.Settings{MajorIterations: steps + 1, Converger: optimize.NeverTerminate{}},
		&sam.Gonum{Config: sam.Config{Rho: 0.05}, Base: optim.Config{Momentum: 0.9},
			LRAt: func(t int) float64 { return 0.02 * math.Pow(0.99, float64(t)) }, NextBatch: next})
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != steps+1 {
		t.Fatalf("NextBatch called %d times for %d steps", len(batches), steps)
	}
	// Grad calls: at x0 (batch 0), then per step s: at x_s+ε (batch s), at x_{s+1} (batch s+1).
	want := []int{batches[0]}
	for s := range steps {
		want = append(want, batches[s], batches[s+1])
	}
	if fmt.Sprint(r.calls) != fmt.Sprint(want) {
		t.Fatalf("batches seen by Grad %v..., want %v...", r.calls[:7], want[:7])
	}
	fit := r.leastSquares(t)
	var d float64
	for i := range fit {
		d = math.Max(d, math.Abs(res.X[i]-fit[i]))
	}
	if d > 0.05 {
		t.Fatalf("stochastic SAM ended at %.4v, %.3g from the least-squares fit %.4v", res.X, d, fit)
	}
}

// TestGonumErrors: bad settings and a bad objective end the run with a one-line error.
func TestGonumErrors(t *testing.T) {
	r := newRegression()
	p := optimize.Problem{Func: r.Func, Grad: r.Grad}
	x0 := []float64{0, 0, 0, 0}
	nan := optimize.Problem{Func: func([]float64) float64 { return math.NaN() }, Grad: r.Grad}
	for _, tc := range []struct {
		name string
		p    optimize.Problem
		m    *sam.Gonum
		want string
	}{
		{"no-lr", p, &sam.Gonum{Config: sam.Config{Rho: 0.05}}, "sam: Gonum.LR: must be a finite number > 0, got 0"},
		{"negative-rho", p, &sam.Gonum{Config: sam.Config{Rho: -1}, LR: 0.1}, "sam: Gonum.Config: --rho: must be a finite number ≥ 0, got -1"},
		{"esam", p, &sam.Gonum{Config: sam.Config{Rho: 0.05, Variant: "esam"}, LR: 0.1}, `sam: Gonum.Config.Variant "esam": not for a gonum problem (want sam, usam, gsam or looksam)`},
		{"samon", p, &sam.Gonum{Config: sam.Config{Rho: 0.05, Variant: "samon"}, LR: 0.1}, `sam: Gonum.Config.Variant "samon": not for a gonum problem (want sam, usam, gsam or looksam)`},
		{"m", p, &sam.Gonum{Config: sam.Config{Rho: 0.05, M: 4}, LR: 0.1}, "sam: Gonum.Config.M: m-sharpness needs the examples of a mini-batch, which a gonum problem does not have"},
		{"base", p, &sam.Gonum{Base: optim.Config{Name: "lbfgs"}, LR: 0.1}, `sam: Gonum.Base: --opt: unknown optimizer "lbfgs" (want sgd, adam or adamw)`},
		{"layout", p, &sam.Gonum{Layout: regressionLayout2(), LR: 0.1}, "sam: Gonum.Layout has 2 coordinates, the problem 4"},
		{"lrat", p, &sam.Gonum{LRAt: func(t int) float64 { return 0.5 - 0.25*float64(t) }}, "sam: Gonum.LRAt(3) = -0.25: must be a finite number ≥ 0"},
		{"nan", nan, &sam.Gonum{Config: sam.Config{Rho: 0.05}, LR: 0.1}, "sam: loss or gradient is not finite: f(x) = NaN at step 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := optimize.Minimize(tc.p, x0, nil, tc.m)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error has several lines: %q", err)
			}
			if res.Status != optimize.Failure {
				t.Fatalf("status %v, want Failure", res.Status)
			}
			if tc.name == "nan" && !errors.Is(err, sam.ErrNonFinite) {
				t.Fatal("error does not wrap sam.ErrNonFinite")
			}
		})
	}
	// A gradient that becomes NaN at the ascent point only.
	calls := 0
	blow := optimize.Problem{Func: r.Func, Grad: func(g, x []float64) {
		r.Grad(g, x)
		if calls++; calls == 2 { // the first ascent point
			g[1] = math.Inf(1)
		}
	}}
	_, err := optimize.Minimize(blow, x0, nil, &sam.Gonum{Config: sam.Config{Rho: 0.05}, LR: 0.1})
	if err == nil || !errors.Is(err, sam.ErrNonFinite) || !strings.Contains(err.Error(), "∇f(x+ε)[1] = +Inf") {
		t.Fatalf("error %v, want ∇f(x+ε)[1] = +Inf", err)
	}
	if err := (&sam.Gonum{LR: 0.1}).Validate(); err != nil {
		t.Fatalf("the base rule alone with a learning rate: %v", err)
	}
}

// gonumCase is one run of TestGonumConvergence: a method on a test function of gonum's
// optimize/functions from its standard start, and where SAM should end.
type gonumCase struct {
	fn     string
	f      interface{ Func([]float64) float64 }
	grad   func(g, x []float64)
	x0     []float64
	method string
	m      sam.Gonum
	steps  int
	target []float64 // the function's minimum
	tol    float64   // on ‖x − target‖∞
	valley float64   // Rosenbrock with this ρ: check the flatter side of the valley instead
	note   string
}

func gonumCases() []gonumCase {
	cos := func(lr float64, n int) func(int) float64 {
		return func(t int) float64 { return lr * 0.5 * (1 + math.Cos(math.Pi*float64(t)/float64(n))) }
	}
	mom := optim.Config{Momentum: 0.9}
	adam := optim.Config{Name: "adam"}
	gsam := sam.Config{Rho: 0.01, Variant: "gsam"}.With("gsam-alpha", 0.1)
	rosen, beale, helical, powell := functions.ExtendedRosenbrock{}, functions.Beale{}, functions.HelicalValley{}, functions.ExtendedPowellSingular{}
	const n = 30000
	return []gonumCase{
		{fn: "Rosenbrock", f: rosen, grad: rosen.Grad, x0: []float64{-1.2, 1}, method: "GD (ρ = 0), momentum 0.9, η 3e-4",
			m: sam.Gonum{Base: mom, LR: 3e-4}, steps: n, target: []float64{1, 1}, tol: 1e-4},
		{fn: "Rosenbrock", f: rosen, grad: rosen.Grad, x0: []float64{-1.2, 1}, method: "SAM ρ 0.01, momentum 0.9, η 3e-4 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: mom, LRAt: cos(3e-4, n)}, steps: n, valley: 0.01,
			note: "on the valley floor, short of x* on the flatter side"},
		{fn: "Rosenbrock", f: rosen, grad: rosen.Grad, x0: []float64{-1.2, 1}, method: "SAM ρ 0.05, momentum 0.9, η 1e-4 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.05}, Base: mom, LRAt: cos(1e-4, n)}, steps: n, valley: 0.05,
			note: "on the valley floor, short of x* on the flatter side"},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "GD (ρ = 0), momentum 0.9, η 3e-4",
			m: sam.Gonum{Base: mom, LR: 3e-4}, steps: n, target: []float64{3, 0.5}, tol: 1e-4},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "SAM ρ 0.01, momentum 0.9, η 3e-4 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: mom, LRAt: cos(3e-4, n)}, steps: n, target: []float64{3, 0.5}, tol: 1e-3},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "SAM ρ 0.01, momentum 0.9, η 3e-4 (constant)",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: mom, LR: 3e-4}, steps: n, target: []float64{3, 0.5}, tol: 1e-2,
			note: "ends in a cycle around x*"},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "GSAM ρ 0.01 α 0.1, momentum 0.9, η 3e-4 cosine",
			m: sam.Gonum{Config: gsam, Base: mom, LRAt: cos(3e-4, n)}, steps: n, target: []float64{3, 0.5}, tol: 1e-3},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "USAM ρ 0.01, momentum 0.9, η 3e-4",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01, Variant: "usam"}, Base: mom, LR: 3e-4}, steps: n, target: []float64{3, 0.5}, tol: 1e-3},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "SAM ρ 0.01, Adam, η 0.01 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: adam, LRAt: cos(0.01, n)}, steps: n, target: []float64{3, 0.5}, tol: 1e-2},
		{fn: "Beale", f: beale, grad: beale.Grad, x0: []float64{1, 1}, method: "LookSAM ρ 0.01 k 5 α 0.7, momentum 0.9, η 3e-4 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01, Variant: "looksam"}, Base: mom, LRAt: cos(3e-4, n)}, steps: n, target: []float64{3, 0.5}, tol: 5e-3},
		{fn: "HelicalValley", f: helical, grad: helical.Grad, x0: []float64{-1, 0, 0}, method: "GD (ρ = 0), momentum 0.9, η 3e-4",
			m: sam.Gonum{Base: mom, LR: 3e-4}, steps: n, target: []float64{1, 0, 0}, tol: 1e-4},
		{fn: "HelicalValley", f: helical, grad: helical.Grad, x0: []float64{-1, 0, 0}, method: "SAM ρ 0.05, momentum 0.9, η 3e-4 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.05}, Base: mom, LRAt: cos(3e-4, n)}, steps: n, target: []float64{1, 0, 0}, tol: 1e-4},
		{fn: "ExtendedPowellSingular", f: powell, grad: powell.Grad, x0: []float64{3, -1, 0, 1}, method: "GD (ρ = 0), momentum 0.9, η 3e-4",
			m: sam.Gonum{Base: mom, LR: 3e-4}, steps: n, target: []float64{0, 0, 0, 0}, tol: 0.05,
			note: "singular minimum: every method converges sublinearly"},
		{fn: "ExtendedPowellSingular", f: powell, grad: powell.Grad, x0: []float64{3, -1, 0, 1}, method: "SAM ρ 0.01, momentum 0.9, η 3e-4",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: mom, LR: 3e-4}, steps: n, target: []float64{0, 0, 0, 0}, tol: 0.05},
		{fn: "ExtendedPowellSingular", f: powell, grad: powell.Grad, x0: []float64{3, -1, 0, 1}, method: "SAM ρ 0.01, Adam, η 0.01 cosine",
			m: sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: adam, LRAt: cos(0.01, n)}, steps: n, target: []float64{0, 0, 0, 0}, tol: 0.05},
	}
}

// TestGonumConvergence runs the gonum method on test functions of optimize/functions from their
// standard starts for a fixed budget and checks where it ends: at the minimum, or on
// Rosenbrock, whose valley's curvature grows with x₁, on the valley floor short of the minimum on
// the flatter side. -gonum-table prints RESULTS.md's table. Under -short only the first two Beale rows
// run.
func TestGonumConvergence(t *testing.T) {
	var rows []string
	short := 0
	for _, c := range gonumCases() {
		if testing.Short() && (c.fn != "Beale" || short == 2) {
			continue
		}
		if c.fn == "Beale" {
			short++
		}
		m := c.m
		res, err := optimize.Minimize(optimize.Problem{Func: c.f.Func, Grad: c.grad}, c.x0,
			&optimize.Settings{MajorIterations: c.steps + 1, Converger: optimize.NeverTerminate{}}, &m)
		if err != nil {
			t.Fatalf("%s, %s: %v", c.fn, c.method, err)
		}
		x := res.X
		var where string
		if rho := c.valley; rho > 0 {
			// SAM's objective max_{‖ε‖≤ρ} f(x+ε) ≈ f(x) + ½ρ²λ_max(x) along Rosenbrock's valley
			// x₂ = x₁², where f = (1−x₁)² and λ_max ≈ 800x₁² + 202, is least at x₁ = 1/(1+400ρ²):
			// SAM's iterates stop between that point and x* = (1, 1).
			a := 1 / (1 + 400*rho*rho)
			where = fmt.Sprintf("x₁ = %.3g ∈ [%.3g, 1), x₂ − x₁² = %.2g", x[0], a, x[1]-x[0]*x[0])
			if math.Abs(x[1]-x[0]*x[0]) > 0.01 || x[0] < a-0.02 || x[0] > 0.995 {
				t.Errorf("%s, %s: ended at %.5g, not on the valley floor between x₁ = %.3g and 1", c.fn, c.method, x, a)
			}
		} else {
			var d float64
			for i, xs := range c.target {
				d = math.Max(d, math.Abs(x[i]-xs))
			}
			where = fmt.Sprintf("‖x − x*‖∞ = %.2g", d)
			if d > c.tol {
				t.Errorf("%s, %s: ended at %.5g (f = %.3g), %.3g from %.4g (tolerance %g)",
					c.fn, c.method, x, res.F, d, c.target, c.tol)
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %d | %d | %.3g | %.4g | %s | %s |",
			c.fn, c.method, res.MajorIterations-1, res.GradEvaluations, res.F, x, where, c.note))
	}
	if *gonumTable {
		fmt.Println("| function | method | steps | Grad evaluations | f(x) | x | where | note |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, r := range rows {
			fmt.Println(r)
		}
	}
}

// TestGonumCycle: with a constant learning rate η, SAM (gradient descent, p = 2) on
// f = ½(x₁² + λx₂²) ends in a 2-cycle x₂ = ±ηλρ/(2−ηλ) along the top eigenvector, x₁ → 0, as
// the type's documentation says; a decaying η ends at the minimum.
func TestGonumCycle(t *testing.T) {
	const lam, eta, rho = 4.0, 0.1, 0.05
	p := optimize.Problem{
		Func: func(x []float64) float64 { return 0.5 * (x[0]*x[0] + lam*x[1]*x[1]) },
		Grad: func(g, x []float64) { g[0], g[1] = x[0], lam*x[1] },
	}
	xs, _ := minimizeSteps(t, p, []float64{1, 1}, 400, &sam.Gonum{Config: sam.Config{Rho: rho}, LR: eta})
	want := eta * lam * rho / (2 - eta*lam)
	for _, x := range xs[398:] {
		if math.Abs(math.Abs(x[1])-want) > 1e-6 || math.Abs(x[0]) > 1e-6 {
			t.Fatalf("ended at %v, want (0, ±%g)", x, want)
		}
	}
	if xs[399][1]*xs[400][1] >= 0 {
		t.Fatalf("x₂ does not alternate: %v, %v", xs[399], xs[400])
	}
	xs, _ = minimizeSteps(t, p, []float64{1, 1}, 400, &sam.Gonum{Config: sam.Config{Rho: rho},
		LRAt: func(t int) float64 { return eta * math.Pow(0.98, float64(t)) }})
	if x := xs[400]; math.Hypot(x[0], x[1]) > 1e-3 {
		t.Fatalf("decaying η ended at %v", x)
	}
}

// TestGonumStops: Minimize's own stopping rules end a Gonum run cleanly wherever they fire: at
// a major iteration (gradient threshold, the default Converger on SAM's cycle) or in the middle
// of a step (an evaluation limit, a Problem.Status); InitValues spare the first evaluation.
func TestGonumStops(t *testing.T) {
	r := newRegression()
	p := optimize.Problem{Func: r.Func, Grad: r.Grad}
	x0 := []float64{0.5, 0.5, -0.5, 0}
	sgd := &sam.Gonum{Base: optim.Config{Momentum: 0.5}, LR: 0.05}
	res, err := optimize.Minimize(p, x0, &optimize.Settings{GradientThreshold: 1e-6}, sgd)
	if err != nil || res.Status != optimize.GradientThreshold {
		t.Fatalf("ρ = 0 with a gradient threshold: %v, %v", res.Status, err)
	}
	beale := functions.Beale{}
	res, err = optimize.Minimize(optimize.Problem{Func: beale.Func, Grad: beale.Grad}, []float64{1, 1}, nil,
		&sam.Gonum{Config: sam.Config{Rho: 0.01}, Base: optim.Config{Momentum: 0.9}, LR: 3e-4})
	if err != nil || res.Status != optimize.FunctionConvergence {
		t.Fatalf("SAM with the default Converger: %v, %v", res.Status, err)
	}
	for _, limit := range []int{7, 8} { // stops after the ascent gradient, or after the next point's
		res, err = optimize.Minimize(p, x0, &optimize.Settings{GradEvaluations: limit, Converger: optimize.NeverTerminate{}},
			&sam.Gonum{Config: sam.Config{Rho: 0.05}, LR: 0.05})
		if err != nil || res.Status != optimize.GradientEvaluationLimit || res.GradEvaluations != limit {
			t.Fatalf("Grad limit %d: %v after %d, %v", limit, res.Status, res.GradEvaluations, err)
		}
	}
	calls := 0
	stopAt := optimize.Problem{Func: r.Func, Grad: r.Grad, Status: func() (optimize.Status, error) {
		if calls++; calls > 10 {
			return optimize.Failure, errors.New("simulation crashed")
		}
		return optimize.NotTerminated, nil
	}}
	if _, err := optimize.Minimize(stopAt, x0, nil, &sam.Gonum{Config: sam.Config{Rho: 0.05}, LR: 0.05}); err == nil || err.Error() != "simulation crashed" {
		t.Fatalf("Problem.Status error: %v", err)
	}
	g0 := make([]float64, 4)
	r.Grad(g0, x0)
	res, err = optimize.Minimize(p, x0, &optimize.Settings{MajorIterations: 3, InitValues: &optimize.Location{F: r.Func(x0), Gradient: g0}},
		&sam.Gonum{Config: sam.Config{Rho: 0.05}, LR: 0.05})
	if err != nil || res.FuncEvaluations != 2 || res.GradEvaluations != 4 {
		t.Fatalf("InitValues: %d Func and %d Grad evaluations for 2 steps, want 2 and 4 (%v)", res.FuncEvaluations, res.GradEvaluations, err)
	}
}
