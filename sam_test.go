package sam_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// quad is the loss of n examples l_i(w) = ½ Σ_j a_j (w_j − c_ij)², averaged over a chunk.
type quad struct {
	a     []float64
	c     [][]float64 // one centre per example
	calls []bool      // the `second` flag of each call
	at    [][]float32 // where each call was evaluated
}

func (q *quad) loss(w, g []float32, lo, hi int, second bool) float64 {
	q.calls = append(q.calls, second)
	q.at = append(q.at, append([]float32(nil), w...))
	for j := range g {
		g[j] = 0
	}
	var l float64
	for i := lo; i < hi; i++ {
		for j, aj := range q.a {
			d := float64(w[j]) - q.c[i][j]
			l += 0.5 * aj * d * d
			g[j] += float32(aj * d / float64(hi-lo))
		}
	}
	return l / float64(hi-lo)
}

func newQuad(a []float64, centres ...[]float64) *quad {
	if len(centres) == 0 {
		centres = [][]float64{make([]float64, len(a))}
	}
	return &quad{a: a, c: centres}
}

// layout2 is a weight span w (2 elements) — or a weight and a bias when split is true.
func layout2(split bool) *param.Layout {
	var l param.Layout
	if split {
		l.Add("w", param.Weight, 1)
		l.Add("b", param.Bias, 1)
	} else {
		l.Add("w", param.Weight, 2)
	}
	return &l
}

func near(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %.9g, want %.9g", what, i, got[i], want[i])
		}
	}
}

// TestHandComputedStep works one SAM step of plain SGD on L(w) = ½(w₁² + 10 w₂²) from w = (1, 2)
// with ρ = 0.1, lr = 0.1, by hand:
//
//	g = (1, 20), ‖g‖ = √401 = 20.0249844
//	ε = 0.1·g/‖g‖ = (0.00499376, 0.0998752)
//	g_SAM = ∇L(w+ε) = (1.00499376, 20.998752)
//	w ← w − 0.1·g_SAM = (0.899500624, −0.0998752)
func TestHandComputedStep(t *testing.T) {
	q := newQuad([]float64{1, 10})
	o, err := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1, 2}
	l, err := o.Step(w, 1, q.loss, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(l-20.5) > 1e-6 {
		t.Fatalf("loss = %g, want L(w) = 20.5", l)
	}
	near(t, "w+ε", q.at[1], []float64{1.00499376, 2.0998752}, 1e-6)
	near(t, "w", w, []float64{0.899500624, -0.0998752}, 1e-6)
	if len(q.calls) != 2 || q.calls[0] || !q.calls[1] {
		t.Fatalf("calls (second flags) = %v, want [false true]", q.calls)
	}
}

// TestPerturbation checks ε for p = 2, ∞, 3 and ASAM against SAM.md's formulas, evaluated here in float64.
func TestPerturbation(t *testing.T) {
	w0 := []float64{0.5, -2}
	a := []float64{3, 1} // g = a∘w = (1.5, −2)
	g := []float64{1.5, -2}
	rho := 0.2
	lp := func(p float64, v []float64) []float64 { // ρ sign(v)|v|^(q−1)/(Σ|v|^q)^(1/p)
		q := p / (p - 1)
		var s float64
		for _, x := range v {
			s += math.Pow(math.Abs(x), q)
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = rho * math.Copysign(math.Pow(math.Abs(x), q-1), x) / math.Pow(s, 1/p)
		}
		return out
	}
	asam := func(eta float64, split bool) []float64 { // T = |w|+η on weights, 1 on the bias
		T := []float64{math.Abs(w0[0]) + eta, math.Abs(w0[1]) + eta}
		if split {
			T[1] = 1
		}
		tg := []float64{T[0] * g[0], T[1] * g[1]}
		n := math.Hypot(tg[0], tg[1])
		return []float64{rho * T[0] * tg[0] / n, rho * T[1] * tg[1] / n}
	}
	for _, tc := range []struct {
		name  string
		cfg   sam.Config
		split bool
		eps   []float64
	}{
		{"p=2", sam.Config{Rho: rho}, false, lp(2, g)},
		{"p=inf", sam.Config{Rho: rho, P: math.Inf(1)}, false, []float64{rho, -rho}},
		{"p=3", sam.Config{Rho: rho, P: 3}, false, lp(3, g)},
		{"p=1.5", sam.Config{Rho: rho, P: 1.5}, false, lp(1.5, g)},
		{"asam", sam.Config{Rho: rho, Adaptive: true}, false, asam(0.01, false)},
		{"asam eta", sam.Config{Rho: rho, Adaptive: true, Eta: 0.5}, false, asam(0.5, false)},
		{"asam bias", sam.Config{Rho: rho, Adaptive: true}, true, asam(0.01, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newQuad(a)
			o, err := sam.New(&optim.SGD{}, layout2(tc.split), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := []float32{float32(w0[0]), float32(w0[1])}
			if _, err := o.Step(w, 1, q.loss, 0.01); err != nil {
				t.Fatal(err)
			}
			near(t, "w+ε", q.at[1], []float64{w0[0] + tc.eps[0], w0[1] + tc.eps[1]}, 1e-6)
		})
	}
}

// TestRhoZeroIsBaseOptimizer: ρ = 0 is bit-for-bit the base optimizer, with one pass per step.
func TestRhoZeroIsBaseOptimizer(t *testing.T) {
	for _, name := range []string{"sgd", "adam", "adamw"} {
		t.Run(name, func(t *testing.T) {
			cfg := optim.Config{Name: name, Momentum: 0.9, Nesterov: true}
			if name != "sgd" {
				cfg = optim.Config{Name: name, WeightDecay: 0.01}
			}
			l := layout2(true)
			b1, _ := optim.New(cfg, l)
			b2, _ := optim.New(cfg, l)
			o, _ := sam.New(b1, l, sam.Config{Rho: 0, M: 1, Adaptive: true})
			q := newQuad([]float64{1, 10}, []float64{1, -1}, []float64{0.5, 2})
			w1 := []float32{1, 2}
			w2 := []float32{1, 2}
			g := make([]float32, 2)
			for step := 0; step < 20; step++ {
				if _, err := o.Step(w1, 2, q.loss, 0.05); err != nil {
					t.Fatal(err)
				}
				q.loss(w2, g, 0, 2, false)
				b2.Step(w2, g, 0.05)
			}
			if w1[0] != w2[0] || w1[1] != w2[1] {
				t.Fatalf("SAM(ρ=0) %v != base %v", w1, w2)
			}
			for i, c := range q.calls {
				if c {
					t.Fatalf("call %d was a second pass; ρ = 0 must cost one pass", i)
				}
			}
			if len(q.calls) != 40 {
				t.Fatalf("%d loss calls for 20+20 steps", len(q.calls))
			}
		})
	}
}

// TestZeroGradient: at a minimum g = 0 gives ε = 0 (never NaN) and the weights stay put.
func TestZeroGradient(t *testing.T) {
	for _, cfg := range []sam.Config{{Rho: 0.05}, {Rho: 0.05, P: math.Inf(1)}, {Rho: 0.05, P: 3}, {Rho: 1, Adaptive: true}} {
		q := newQuad([]float64{1, 10})
		o, _ := sam.New(&optim.SGD{Momentum: 0.9}, layout2(false), cfg)
		w := []float32{0, 0}
		if _, err := o.Step(w, 1, q.loss, 0.1); err != nil {
			t.Fatal(err)
		}
		if w[0] != 0 || w[1] != 0 || q.at[1][0] != 0 || q.at[1][1] != 0 {
			t.Fatalf("%+v: w = %v, w+ε = %v, want zeros", cfg, w, q.at[1])
		}
	}
}

// TestL2OnWeightsOnly: the L2 gradient λw is added at the unperturbed w, on weight spans only.
func TestL2OnWeightsOnly(t *testing.T) {
	q := newQuad([]float64{0, 0}) // zero loss: the step is the L2 term alone
	o, _ := sam.New(&optim.SGD{}, layout2(true), sam.Config{Rho: 0.05, L2: 0.5})
	w := []float32{2, 2}
	if _, err := o.Step(w, 1, q.loss, 0.1); err != nil {
		t.Fatal(err)
	}
	near(t, "w", w, []float64{2 - 0.1*0.5*2, 2}, 1e-7)
}

// TestMSharpness: with m < batch, each chunk gets its own ε and the g_SAM are averaged.
func TestMSharpness(t *testing.T) {
	a := []float64{1, 4}
	c := [][]float64{{1, 0}, {-1, 2}, {0.5, 0.5}, {2, -1}}
	q := newQuad(a, c...)
	o, _ := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.3, M: 2})
	w := []float32{0.2, 0.7}
	if _, err := o.Step(w, 4, q.loss, 1); err != nil {
		t.Fatal(err)
	}
	want := []float64{0.2, 0.7}
	for ch := 0; ch < 2; ch++ { // chunk ch: examples 2ch, 2ch+1
		g := make([]float64, 2)
		for j := range g {
			g[j] = a[j] * (([]float64{0.2, 0.7})[j] - (c[2*ch][j]+c[2*ch+1][j])/2)
		}
		n := math.Hypot(g[0], g[1])
		for j := range g {
			wp := ([]float64{0.2, 0.7})[j] + 0.3*g[j]/n
			gs := a[j] * (wp - (c[2*ch][j]+c[2*ch+1][j])/2)
			want[j] -= gs / 2
		}
	}
	near(t, "w", w, want, 1e-6)
	if len(q.calls) != 4 {
		t.Fatalf("%d loss calls, want 4 (two per chunk)", len(q.calls))
	}
}

// TestMSharpnessForks: m-sharpness with forks (SetForks) evaluates several chunks at once and
// gives the bits of the chunks one after another, for any thread count; with one thread, or a
// data-parallel first pass, the forks stay unused. The vector is long enough for the threaded
// kernels to split it.
func TestMSharpnessForks(t *testing.T) {
	const d, n = 70001, 10 // m = 3: chunks of 3, 3, 3 and 1 examples
	var layout param.Layout
	layout.Add("w", param.Weight, d-1)
	layout.Add("b", param.Bias, 1)
	centre := func(i, j int) float32 { return float32(math.Sin(float64(i*7919+j)) * 0.5) }
	// ½ Σ_j (1 + j mod 3)(w_j − c_ij)², mean over the chunk; pure, so safe on several goroutines.
	pass := func(calls *atomic.Int64) sam.Loss {
		return func(w, g []float32, lo, hi int, second bool) float64 {
			calls.Add(1)
			clear(g)
			var l float64
			for i := lo; i < hi; i++ {
				for j := range g {
					a := float32(1 + j%3)
					e := w[j] - centre(i, j)
					l += float64(0.5 * a * e * e)
					g[j] += a * e / float32(hi-lo)
				}
			}
			return l / float64(hi-lo)
		}
	}
	run := func(cfg sam.Config, threads, forks int, reduce, window bool) ([]float32, []int64) {
		defer tensor.SetThreads(tensor.SetThreads(threads))
		if window { // one chunk per thread at a time: several windows of chunks per step
			defer sam.SetForkWindow(sam.SetForkWindow(1))
		}
		o, err := sam.New(&optim.SGD{Momentum: 0.9}, &layout, cfg)
		if err != nil {
			t.Fatal(err)
		}
		calls := make([]atomic.Int64, forks+1)
		var fs []sam.Loss
		for i := range forks {
			fs = append(fs, pass(&calls[i+1]))
		}
		o.SetForks(fs)
		if reduce {
			id := func(g []float32, l float64) float64 { return l }
			if err := o.SetReduce(id, id); err != nil {
				t.Fatal(err)
			}
		}
		w := make([]float32, d)
		for j := range w {
			w[j] = float32(math.Cos(float64(j)))
		}
		for range 3 {
			if _, err := o.Step(w, n, pass(&calls[0]), 0.1); err != nil {
				t.Fatal(err)
			}
		}
		got := make([]int64, len(calls))
		for i := range calls {
			got[i] = calls[i].Load()
		}
		return w, got
	}
	for name, cfg := range map[string]sam.Config{
		"sam":           {Rho: 0.05, M: 3},
		"asam ascent 2": {Rho: 0.5, M: 3, Adaptive: true, AscentSteps: 2},
		"p=inf l2":      {Rho: 0.01, M: 3, P: math.Inf(1), L2: 1e-3},
	} {
		t.Run(name, func(t *testing.T) {
			want, _ := run(cfg, 1, 0, false, false)
			for _, c := range []struct {
				threads, forks       int
				reduce, window, used bool
			}{{1, 3, false, false, false}, {2, 3, false, false, true}, {3, 3, false, false, true}, {4, 1, false, false, true},
				{2, 3, false, true, true}, {3, 3, false, true, true}, {2, 3, true, false, false}} {
				got, calls := run(cfg, c.threads, c.forks, c.reduce, c.window)
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%+v: w[%d] = %g, chunks one after another give %g", c, j, got[j], want[j])
					}
				}
				var forked int64
				for _, k := range calls[1:] {
					forked += k
				}
				if used := forked > 0; used != c.used {
					t.Fatalf("%+v: the forks made %d of the %d passes", c, forked, forked+calls[0])
				}
				if total := forked + calls[0]; total != 3*4*int64(1+max(cfg.AscentSteps, 1)) {
					t.Fatalf("%+v: %d passes in 3 steps of 4 chunks", c, total)
				}
			}
		})
	}
}

// TestNonFiniteLeavesWeights: a NaN loss is reported and the parameters are untouched.
func TestNonFiniteLeavesWeights(t *testing.T) {
	o, _ := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.05})
	w := []float32{1, 2}
	bad := func(w, g []float32, lo, hi int, second bool) float64 {
		g[0], g[1] = float32(math.NaN()), 1
		return math.NaN()
	}
	if _, err := o.Step(w, 1, bad, 0.1); !errors.Is(err, sam.ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	if w[0] != 1 || w[1] != 2 {
		t.Fatalf("w = %v changed", w)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []sam.Config{{Rho: -1}, {Rho: math.NaN()}, {P: 1}, {P: 0.5}, {Eta: -1}, {M: -1}, {L2: -1}} {
		err := c.Validate()
		if err == nil {
			t.Fatalf("%+v accepted", c)
		}
		if s := err.Error(); s[:2] != "--" {
			t.Fatalf("error %q does not name a flag", s)
		}
	}
	if err := (sam.Config{Rho: 0.05, P: math.Inf(1)}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestConvergence: every base optimizer × {SAM, ASAM} × p reaches the minimum of an
// ill-conditioned quadratic (where the SAM objective's minimiser is the same point).
func TestConvergence(t *testing.T) {
	bases := map[string]func() optim.Optimizer{
		"sgd":      func() optim.Optimizer { return &optim.SGD{} },
		"momentum": func() optim.Optimizer { return &optim.SGD{Momentum: 0.9} },
		"nesterov": func() optim.Optimizer { return &optim.SGD{Momentum: 0.9, Nesterov: true} },
		"adam":     func() optim.Optimizer { return &optim.Adam{} },
	}
	lrs := map[string]float64{"sgd": 0.05, "momentum": 0.01, "nesterov": 0.01, "adam": 0.02}
	variants := map[string]sam.Config{
		"sam":   {Rho: 0.05},
		"asam":  {Rho: 0.5, Adaptive: true},
		"p=inf": {Rho: 0.01, P: math.Inf(1)},
		"m=1":   {Rho: 0.05, M: 1},
	}
	for bn, base := range bases {
		for vn, cfg := range variants {
			t.Run(bn+"/"+vn, func(t *testing.T) {
				q := newQuad([]float64{1, 10}, []float64{0, 0}, []float64{0, 0})
				o, err := sam.New(base(), layout2(false), cfg)
				if err != nil {
					t.Fatal(err)
				}
				w := []float32{3, -2}
				lr := lrs[bn]
				for step := 0; step < 3000; step++ {
					if _, err := o.Step(w, 2, q.loss, lr*math.Pow(0.998, float64(step))); err != nil {
						t.Fatal(err)
					}
				}
				if d := math.Hypot(float64(w[0]), float64(w[1])); d > 2e-2 {
					t.Fatalf("ended at %v, distance %.3g from the minimum", w, d)
				}
			})
		}
	}
}

// Example shows SAM around SGD with momentum on L(w) = ½(w₁² + 10w₂²).
func Example() {
	var layout param.Layout
	layout.Add("w", param.Weight, 2)
	loss := func(w, g []float32, lo, hi int, second bool) float64 {
		g[0], g[1] = w[0], 10*w[1]
		return 0.5 * float64(w[0]*w[0]+10*w[1]*w[1])
	}
	opt, err := sam.New(&optim.SGD{Momentum: 0.9}, &layout, sam.Config{Rho: 0.05})
	if err != nil {
		panic(err)
	}
	w := []float32{1, 1}
	g := make([]float32, 2)
	fmt.Printf("loss before: %.3f\n", loss(w, g, 0, 1, false))
	for step := 0; step < 300; step++ {
		lr := 0.02 * math.Pow(0.98, float64(step)) // SAM's ε has norm ρ even at the minimum: decay lr to settle
		if _, err := opt.Step(w, 1, loss, lr); err != nil {
			panic(err)
		}
	}
	fmt.Printf("loss after:  %.3f\n", loss(w, g, 0, 1, false))
	// Output:
	// loss before: 5.500
	// loss after:  0.000
}

// ExampleConfig_Validate shows the one-line errors a user sees for bad settings.
func ExampleConfig_Validate() {
	fmt.Println(sam.Config{Rho: -0.1}.Validate())
	fmt.Println(sam.Config{Rho: 0.05, P: 1}.Validate())
	// Output:
	// --rho: must be a finite number ≥ 0, got -0.1
	// --p: must be > 1 (or inf), got 1
}

func BenchmarkSAMStep(b *testing.B) {
	// The optimizer's own work per step (ε, L2, base update) for a 784-256-256-10 MLP's
	// 269,322 parameters; the loss is a cheap stand-in so that SAM's overhead is what is timed.
	var layout param.Layout
	layout.Add("fc1.weight", param.Weight, 256, 784)
	layout.Add("fc1.bias", param.Bias, 256)
	layout.Add("fc2.weight", param.Weight, 256, 256)
	layout.Add("fc2.bias", param.Bias, 256)
	layout.Add("fc3.weight", param.Weight, 10, 256)
	layout.Add("fc3.bias", param.Bias, 10)
	loss := func(w, g []float32, lo, hi int, second bool) float64 {
		copy(g, w)
		return 0
	}
	for _, tc := range []struct {
		name string
		cfg  sam.Config
	}{
		{"rho=0", sam.Config{}},
		{"sam", sam.Config{Rho: 0.05}},
		{"sam+l2", sam.Config{Rho: 0.05, L2: 5e-4}},
		{"asam", sam.Config{Rho: 0.5, Adaptive: true}},
		{"p=inf", sam.Config{Rho: 0.05, P: math.Inf(1)}},
		{"esam-swp", sam.Config{Rho: 0.05, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 1}}},
		{"gsam", sam.Config{Rho: 0.05, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0.1}}},
		{"looksam", sam.Config{Rho: 0.05, Variant: "looksam", Params: map[string]float64{"looksam-k": 5, "looksam-alpha": 0.7}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o, _ := sam.New(&optim.SGD{Momentum: 0.9}, &layout, tc.cfg)
			w := make([]float32, layout.Size())
			for i := range w {
				w[i] = float32(i%7) * 0.01
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := o.Step(w, 128, loss, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestConfigJSON: p = ∞ survives a JSON round trip (as "inf"), finite p as a number, and a
// member's settings sit beside the other fields. The bytes are pinned to what the code before the
// member registry wrote, because the sweep names its trials by a hash of this JSON.
func TestConfigJSON(t *testing.T) {
	for _, tc := range []struct {
		c    sam.Config
		want string
	}{
		{sam.Config{Rho: 0.05, P: 2}, `{"rho":0.05,"p":2}`},
		{sam.Config{Rho: 0.05, P: math.Inf(1), Adaptive: true, Eta: 0.01, M: 8, L2: 0.001, AscentSteps: 3},
			`{"rho":0.05,"adaptive":true,"eta":0.01,"m":8,"l2":0.001,"ascent_steps":3,"p":"inf"}`},
		{sam.Config{Rho: 0.1, P: 2, Variant: "gsam", Params: map[string]float64{"rho-min": 0.1, "gsam-alpha": 0.1}},
			`{"rho":0.1,"variant":"gsam","gsam_alpha":0.1,"rho_min":0.1,"p":2}`},
		{sam.Config{Rho: 0.1, P: 2, Variant: "looksam", Params: map[string]float64{"looksam-k": 5, "looksam-alpha": 0.7}},
			`{"rho":0.1,"variant":"looksam","looksam_k":5,"looksam_alpha":0.7,"p":2}`},
		{sam.Config{Rho: 0.1, P: 2, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 0.5}, Seed: 3},
			`{"rho":0.1,"variant":"esam","esam_beta":0.6,"esam_gamma":0.5,"seed":3,"p":2}`},
		{sam.Config{Rho: 0.1, P: 2, Variant: "usam"}, `{"rho":0.1,"variant":"usam","p":2}`},
		{sam.Config{Rho: 0.1, P: 3, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0}},
			`{"rho":0.1,"variant":"gsam","gsam_alpha":0,"p":3}`},
		{sam.Config{}, `{"rho":0}`},
	} {
		b, err := json.Marshal(tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%+v written as %s, want %s", tc.c, b, tc.want)
		}
		var back sam.Config
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.c) {
			t.Errorf("%s came back as %+v, want %+v", b, back, tc.c)
		}
	}
	var c sam.Config
	if err := json.Unmarshal([]byte(`{"p":"two"}`), &c); err == nil {
		t.Fatal("accepted p \"two\"")
	}
	if err := json.Unmarshal([]byte(`{"variant":"gsam","gsam_alpha":"x"}`), &c); err == nil {
		t.Fatal("accepted gsam_alpha \"x\"")
	}
}
