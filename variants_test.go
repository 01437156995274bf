package sam_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// run takes steps with cfg on a fixed 3-example quadratic and returns the weights and the
// points where the loss was evaluated.
func run(t *testing.T, cfg sam.Config, steps int, lr float64) ([]float32, *quad) {
	t.Helper()
	q := newQuad([]float64{1, 10}, []float64{0.5, -0.2}, []float64{-0.3, 0.4}, []float64{0.1, 0.1})
	o, err := sam.New(&optim.SGD{Momentum: 0.5}, layout2(false), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1.2, -0.8}
	for s := 0; s < steps; s++ {
		if _, err := o.Step(w, 3, q.loss, lr); err != nil {
			t.Fatal(err)
		}
	}
	return w, q
}

// TestLimitCases: each variant reduces to SAM at its limit, to float32 round-off (here: exactly).
func TestLimitCases(t *testing.T) {
	base := sam.Config{Rho: 0.1}
	ref, _ := run(t, base, 25, 0.02)
	for name, cfg := range map[string]sam.Config{
		"gsam alpha=0 constant rho": {Rho: 0.1, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0}},
		"looksam k=1":               {Rho: 0.1, Variant: "looksam", Params: map[string]float64{"looksam-k": 1, "looksam-alpha": 0.7}},
		"one ascent step":           {Rho: 0.1, AscentSteps: 1},
		"esam beta=gamma=1":         {Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-beta": 1, "esam-gamma": 1}},
		"sam by name":               {Rho: 0.1, Variant: "sam"},
	} {
		t.Run(name, func(t *testing.T) {
			w, _ := run(t, cfg, 25, 0.02)
			for i := range w {
				if d := math.Abs(float64(w[i] - ref[i])); d > 1e-7*math.Max(1, math.Abs(float64(ref[i]))) {
					t.Fatalf("w = %v, SAM gives %v", w, ref)
				}
			}
		})
	}
}

// grad of the 3-example quadratic above at w (float64).
func qgrad(w []float64) []float64 {
	a := []float64{1, 10}
	c := [][]float64{{0.5, -0.2}, {-0.3, 0.4}, {0.1, 0.1}}
	g := make([]float64, 2)
	for j := range g {
		for _, ci := range c {
			g[j] += a[j] * (w[j] - ci[j]) / 3
		}
	}
	return g
}

func unit(g []float64) []float64 {
	n := math.Hypot(g[0], g[1])
	return []float64{g[0] / n, g[1] / n}
}

// TestVariantRules checks one step of each variant against SAM.md's rule, computed here in float64.
func TestVariantRules(t *testing.T) {
	w0 := []float64{1.2, -0.8}
	g := qgrad(w0)
	rho := 0.1
	sgd := func(d []float64) []float64 { return []float64{w0[0] - 0.02*d[0], w0[1] - 0.02*d[1]} } // first SGD step: v = d
	at := func(eps []float64) []float64 { return []float64{w0[0] + eps[0], w0[1] + eps[1]} }
	// USAM: ε = ρg.
	usam := qgrad(at([]float64{rho * g[0], rho * g[1]}))
	// Two projected ascent steps of size ρ/2 each.
	u := unit(g)
	e1 := []float64{rho / 2 * u[0], rho / 2 * u[1]}
	u2 := unit(qgrad(at(e1)))
	e2 := []float64{e1[0] + rho/2*u2[0], e1[1] + rho/2*u2[1]}
	if n := math.Hypot(e2[0], e2[1]); n > rho {
		e2[0], e2[1] = e2[0]*rho/n, e2[1]*rho/n
	}
	multi := qgrad(at(e2))
	// GSAM with α = 0.3: g_p − α(g − (g·g_p/‖g_p‖²)g_p).
	gp := qgrad(at([]float64{rho * u[0], rho * u[1]}))
	c := (g[0]*gp[0] + g[1]*gp[1]) / (gp[0]*gp[0] + gp[1]*gp[1])
	gsam := []float64{gp[0] - 0.3*(g[0]-c*gp[0]), gp[1] - 0.3*(g[1]-c*gp[1])}
	for _, tc := range []struct {
		name string
		cfg  sam.Config
		dir  []float64
	}{
		{"usam", sam.Config{Rho: rho, Variant: "usam"}, usam},
		{"two ascent steps", sam.Config{Rho: rho, AscentSteps: 2}, multi},
		{"gsam", sam.Config{Rho: rho, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0.3}}, gsam},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := run(t, tc.cfg, 1, 0.02)
			near(t, "w", w, sgd(tc.dir), 1e-6)
		})
	}
}

// TestGSAMRhoSchedule: ρ_t = ρ_min + (ρ_max−ρ_min)(lr_t−lr_min)/(lr_max−lr_min).
func TestGSAMRhoSchedule(t *testing.T) {
	q := newQuad([]float64{1, 10})
	o, _ := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.2, Variant: "gsam",
		Params: map[string]float64{"rho-min": 0.05}, LRMax: 0.1, LRMin: 0})
	w := []float32{1, 2}
	o.Step(w, 1, q.loss, 0.05) // halfway: ρ = 0.125
	eps := math.Hypot(float64(q.at[1][0]-1), float64(q.at[1][1]-2))
	if math.Abs(eps-0.125) > 1e-6 {
		t.Fatalf("‖ε‖ = %g, want 0.125", eps)
	}
}

// TestLookSAM: step 1 is SAM and stores g_v; step 2 is one pass with g + α(‖g‖/‖g_v‖)g_v.
func TestLookSAM(t *testing.T) {
	q := newQuad([]float64{1, 10})
	o, _ := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.1, Variant: "looksam",
		Params: map[string]float64{"looksam-k": 3, "looksam-alpha": 0.7}})
	w := []float32{1, 2}
	lr := 0.01
	o.Step(w, 1, q.loss, lr)
	// By hand: g = (1, 20); g_s = A(w + 0.1 g/‖g‖); g_v = g_s − (g_s·g/‖g‖²) g.
	g := []float64{1, 20}
	n := math.Hypot(1, 20)
	gs := []float64{1 + 0.1*1/n, 10 * (2 + 0.1*20/n)}
	c := (gs[0]*g[0] + gs[1]*g[1]) / (n * n)
	gv := []float64{gs[0] - c*g[0], gs[1] - c*g[1]}
	w1 := []float64{1 - lr*gs[0], 2 - lr*gs[1]}
	near(t, "w after the SAM step", w, w1, 1e-6)
	calls := len(q.calls)
	o.Step(w, 1, q.loss, lr)
	if len(q.calls) != calls+1 {
		t.Fatalf("the in-between step made %d passes, want 1", len(q.calls)-calls)
	}
	g2 := []float64{w1[0], 10 * w1[1]}
	f := 0.7 * math.Hypot(g2[0], g2[1]) / math.Hypot(gv[0], gv[1])
	near(t, "w after the look-ahead step", w, []float64{w1[0] - lr*(g2[0]+f*gv[0]), w1[1] - lr*(g2[1]+f*gv[1])}, 1e-6)
	o.Step(w, 1, q.loss, lr)
	if o.Step(w, 1, q.loss, lr); len(q.calls) != calls+1+1+2 {
		t.Fatalf("steps 3 and 4 made %d passes, want 1 and 2", len(q.calls)-calls-1)
	}
}

// TestESAMMask: with β = 0.5 every coordinate of ε is 0 or 2× SAM's, drawn at random.
func TestESAMMask(t *testing.T) {
	var l param.Layout
	l.Add("w", param.Weight, 400)
	q := &quad{a: make([]float64, 400), c: [][]float64{make([]float64, 400)}}
	for i := range q.a {
		q.a[i] = 1
	}
	o, _ := sam.New(&optim.SGD{}, &l, sam.Config{Rho: 1, Variant: "esam", Params: map[string]float64{"esam-beta": 0.5, "esam-gamma": 1}, Seed: 3})
	w := make([]float32, 400)
	for i := range w {
		w[i] = 1
	}
	o.Step(w, 1, q.loss, 0.01)
	kept := 0
	for _, v := range q.at[1] {
		switch e := float64(v) - 1; {
		case math.Abs(e) < 1e-7:
		case math.Abs(e-2*1/20.0) < 1e-6: // SAM's ε is 1/√400 per coordinate
			kept++
		default:
			t.Fatalf("ε coordinate %g is neither 0 nor 2·ε_SAM", e)
		}
	}
	if kept < 160 || kept > 240 {
		t.Fatalf("%d of 400 coordinates kept at β = 0.5", kept)
	}
}

// TestSAMON: only normalisation spans are perturbed, normalised over them alone.
func TestSAMON(t *testing.T) {
	var l param.Layout
	l.Add("w", param.Weight, 1)
	l.Add("bn", param.Norm, 1)
	q := newQuad([]float64{1, 10})
	o, _ := sam.New(&optim.SGD{}, &l, sam.Config{Rho: 0.1, Variant: "samon"})
	w := []float32{1, 2}
	o.Step(w, 1, q.loss, 0.01)
	near(t, "w+ε", q.at[1], []float64{1, 2.1}, 1e-7)
}

// TestVariantsConverge: every variant reaches the minimum of the quadratic.
func TestVariantsConverge(t *testing.T) {
	for name, cfg := range map[string]sam.Config{
		"usam":      {Rho: 0.05, Variant: "usam"},
		"multistep": {Rho: 0.05, AscentSteps: 3},
		"gsam":      {Rho: 0.05, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0.2}},
		"looksam":   {Rho: 0.05, Variant: "looksam", Params: map[string]float64{"looksam-k": 5, "looksam-alpha": 0.7}},
		"esam swp":  {Rho: 0.05, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 1}},
		"samon":     {Rho: 0.05, Variant: "samon"},
	} {
		t.Run(name, func(t *testing.T) {
			q := newQuad([]float64{1, 10})
			o, err := sam.New(&optim.SGD{Momentum: 0.9}, layout2(false), cfg)
			if err != nil {
				t.Fatal(err)
			}
			w := []float32{3, -2}
			for s := 0; s < 3000; s++ {
				if _, err := o.Step(w, 1, q.loss, 0.01*math.Pow(0.998, float64(s))); err != nil {
					t.Fatal(err)
				}
			}
			if d := math.Hypot(float64(w[0]), float64(w[1])); d > 2e-2 {
				t.Fatalf("ended at %v", w)
			}
		})
	}
}

func TestVariantValidate(t *testing.T) {
	for _, c := range []sam.Config{
		{Rho: 0.1, Variant: "nope"},
		{Rho: 0.1, Variant: "usam", P: 3},
		{Rho: 0.1, Variant: "gsam", Params: map[string]float64{"rho-min": 0.2}},
		{Rho: 0.1, Variant: "gsam", LRMax: 0.01, LRMin: 0.1},
		{Rho: 0.1, Variant: "looksam", Params: map[string]float64{"looksam-k": -1}},
		{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-beta": 1.5}},
		{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-beta": 1e-6}},
		{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-gamma": 1.5}},
		{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-gamma": math.NaN()}},
		{Rho: 0.1, Variant: "esam", AscentSteps: 2},
		{Rho: 0.1, Variant: "gsam", M: 4},
		{Rho: 0.1, AscentSteps: -1},
		{Rho: 0.1, AscentSteps: 2, P: 3},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// quadEx is the per-example view (sam.Examples) of a quad's mini-batch of n examples.
type quadEx struct {
	q      *quad
	n      int
	w      []float32 // the point of the last evaluation
	chosen [][]int   // the examples of each Backward
}

func (e *quadEx) loss(w, g []float32, lo, hi int, second bool) float64 {
	e.w = append(e.w[:0], w...)
	return e.q.loss(w, g, lo, hi, second)
}

func (e *quadEx) Losses(dst []float32) {
	for i := range e.n {
		var l float64
		for j, aj := range e.q.a {
			d := float64(e.w[j]) - e.q.c[i][j]
			l += 0.5 * aj * d * d
		}
		dst[i] = float32(l)
	}
}

func (e *quadEx) Forward(w []float32) {
	e.q.calls = append(e.q.calls, true)
	e.q.at = append(e.q.at, append([]float32(nil), w...))
	e.w = append(e.w[:0], w...)
}

func (e *quadEx) Backward(w, g []float32, idx []int) float64 {
	e.chosen = append(e.chosen, append([]int(nil), idx...))
	clear(g)
	var l float64
	for _, i := range idx {
		for j, aj := range e.q.a {
			d := float64(w[j]) - e.q.c[i][j]
			l += 0.5 * aj * d * d
			g[j] += float32(aj * d / float64(len(idx)))
		}
	}
	return l / float64(len(idx))
}

// TestESAMDataSelection: with γ = 0.5 of 3 examples, the update is the gradient at w+ε of the
// mean loss over the 2 examples whose loss rose most, computed here in float64.
func TestESAMDataSelection(t *testing.T) {
	a := []float64{1, 10}
	c := [][]float64{{0.5, -0.2}, {-0.3, 0.4}, {0.1, 0.1}}
	q := newQuad(a, c...)
	ex := &quadEx{q: q, n: 3}
	o, err := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-beta": 1, "esam-gamma": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1.2, -0.8}
	if _, err := o.StepExamples(w, 3, ex.loss, ex, 0.02); err != nil {
		t.Fatal(err)
	}
	w0 := []float64{1.2, -0.8}
	u := unit(qgrad(w0))
	wp := []float64{w0[0] + 0.1*u[0], w0[1] + 0.1*u[1]}
	li := func(w []float64, i int) float64 {
		var l float64
		for j := range a {
			d := w[j] - c[i][j]
			l += 0.5 * a[j] * d * d
		}
		return l
	}
	rise := make([]float64, 3)
	for i := range rise {
		rise[i] = li(wp, i) - li(w0, i)
	}
	// The example with the smallest rise is left out.
	out := 0
	for i := range rise {
		if rise[i] < rise[out] {
			out = i
		}
	}
	var want []int
	for i := range 3 {
		if i != out {
			want = append(want, i)
		}
	}
	if len(ex.chosen) != 1 || len(ex.chosen[0]) != 2 || ex.chosen[0][0] != want[0] || ex.chosen[0][1] != want[1] {
		t.Fatalf("chose %v, want %v (rises %v)", ex.chosen, want, rise)
	}
	var g [2]float64
	for _, i := range want {
		for j := range a {
			g[j] += a[j] * (wp[j] - c[i][j]) / 2
		}
	}
	near(t, "w", w, []float64{w0[0] - 0.02*g[0], w0[1] - 0.02*g[1]}, 1e-6)
	if len(q.calls) != 2 || q.calls[0] || !q.calls[1] {
		t.Fatalf("passes %v, want a first pass and a second-pass forward", q.calls)
	}
	near(t, "w+ε", q.at[1], wp, 1e-6)
}

// TestESAMGammaOneIsSAM: γ = 1 needs no per-example losses and, with β = 1, is SAM exactly;
// γ < 1 without them is a programming error with a clear message.
func TestESAMGammaOneIsSAM(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 10, 0.02)
	got, _ := run(t, sam.Config{Rho: 0.1, Variant: "esam", Params: map[string]float64{"esam-beta": 1, "esam-gamma": 1}}, 10, 0.02)
	for i := range ref {
		if got[i] != ref[i] {
			t.Fatalf("esam β=γ=1: %v, SAM: %v", got, ref)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "StepExamples") {
			t.Fatalf("Step without examples at γ < 1: recovered %v", r)
		}
	}()
	run(t, sam.Config{Rho: 0.1, Variant: "esam"}, 1, 0.02)
}

// TestESAMConverges: full ESAM (β = 0.6, γ = 0.5) reaches the quadratic's minimum.
func TestESAMConverges(t *testing.T) {
	q := newQuad([]float64{1, 10}, []float64{0.5, -0.2}, []float64{-0.3, 0.4}, []float64{0.1, 0.1})
	ex := &quadEx{q: q, n: 3}
	o, err := sam.New(&optim.SGD{Momentum: 0.5}, layout2(false), sam.Config{Rho: 0.05, Variant: "esam", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := o.Config(); c.Param("esam-beta") != 0.6 || c.Param("esam-gamma") != 0.5 {
		t.Fatalf("defaults β=%g γ=%g, want 0.6 and 0.5", c.Param("esam-beta"), c.Param("esam-gamma"))
	}
	w := []float32{1.2, -0.8}
	for range 400 {
		if _, err := o.StepExamples(w, 3, ex.loss, ex, 0.02); err != nil {
			t.Fatal(err)
		}
	}
	// The minimum of the mean loss is the mean centre (0.1, 0.1); with γ = 0.5 the steps chase
	// two of the three centres at a time, so the end point stays within their hull.
	if math.Abs(float64(w[0])-0.1) > 0.3 || math.Abs(float64(w[1])-0.1) > 0.3 {
		t.Fatalf("ended at %v", w)
	}
}
