package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

// wsamRef is WSAM in float64 on L(w) = ½(w₁² + 10 w₂²) around SGD with momentum mu: steps
// steps from w with ρ, lr and α, coupled or decoupled.
func wsamRef(w []float64, steps int, rho, lr, mu, alpha float64, decouple bool) []float64 {
	w = append([]float64(nil), w...)
	grad := func(w []float64) []float64 { return []float64{w[0], 10 * w[1]} }
	var v []float64
	for range steps {
		g := grad(w)
		n := math.Hypot(g[0], g[1])
		gp := grad([]float64{w[0] + rho*g[0]/n, w[1] + rho*g[1]/n})
		d := make([]float64, 2) // what the base optimizer steps with
		for j := range d {
			if decouple {
				d[j] = g[j]
			} else {
				d[j] = g[j] + alpha*(gp[j]-g[j])
			}
		}
		if v == nil {
			v = d
		} else {
			for j := range v {
				v[j] = mu*v[j] + d[j]
			}
		}
		for j := range w {
			w[j] -= lr * v[j]
			if decouple {
				w[j] -= lr * alpha * (gp[j] - g[j])
			}
		}
	}
	return w
}

func wsamRun(t *testing.T, cfg sam.Config, base optim.Optimizer, steps int) []float32 {
	t.Helper()
	q := newQuad([]float64{1, 10})
	o, err := sam.New(base, layout2(false), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1, 2}
	for range steps {
		if _, err := o.Step(w, 1, q.loss, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// TestWSAMHandStep: one coupled step of plain SGD with γ = 0.75 (α = 3) from w = (1, 2), ρ = 0.1,
// lr = 0.1, by hand (TestHandComputedStep has g and g_p):
//
//	g = (1, 20), g_p = (1.00499376, 20.998752)
//	g + 3(g_p − g) = (1.01498128, 22.996256)
//	w ← w − 0.1·(1.01498128, 22.996256) = (0.898501872, −0.2996256)
func TestWSAMHandStep(t *testing.T) {
	cfg := sam.Config{Rho: 0.1, Variant: "wsam", Params: map[string]float64{"wsam-gamma": 0.75, "wsam-decouple": 0}}
	w := wsamRun(t, cfg, &optim.SGD{}, 1)
	near(t, "w", w, []float64{0.898501872, -0.2996256}, 1e-6)
	near(t, "w (float64 rule)", w, wsamRef([]float64{1, 2}, 1, 0.1, 0.1, 0, 3, false), 1e-6)
}

// TestWSAMDecoupled: around SGD with momentum the decoupled form (base step with g, then
// w ← w − lr·α(g_p − g)) follows the float64 rule over 3 steps and differs from the coupled form.
func TestWSAMDecoupled(t *testing.T) {
	for _, decouple := range []bool{true, false} {
		d := 0.0
		if decouple {
			d = 1
		}
		cfg := sam.Config{Rho: 0.1, Variant: "wsam", Params: map[string]float64{"wsam-gamma": 0.6, "wsam-decouple": d}}
		w := wsamRun(t, cfg, &optim.SGD{Momentum: 0.9}, 3)
		want := wsamRef([]float64{1, 2}, 3, 0.1, 0.1, 0.9, 1.5, decouple)
		near(t, "w", w, want, 2e-6)
		other := wsamRef([]float64{1, 2}, 3, 0.1, 0.1, 0.9, 1.5, !decouple)
		if math.Abs(want[1]-other[1]) < 1e-3 {
			t.Fatalf("the test cannot tell the forms apart: %v and %v", want, other)
		}
	}
}

// TestWSAMLimit: γ = 0.5 coupled is SAM bit for bit; decoupled around plain SGD it is SAM to
// float32 round-off.
func TestWSAMLimit(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 25, 0.02)
	w, _ := run(t, sam.Config{Rho: 0.1, Variant: "wsam", Params: map[string]float64{"wsam-gamma": 0.5, "wsam-decouple": 0}}, 25, 0.02)
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("coupled γ = 0.5: %v, SAM %v", w, ref)
	}
	samW := wsamRun(t, sam.Config{Rho: 0.1}, &optim.SGD{}, 10)
	dec := wsamRun(t, sam.Config{Rho: 0.1, Variant: "wsam", Params: map[string]float64{"wsam-gamma": 0.5}}, &optim.SGD{}, 10)
	for i := range dec {
		if d := math.Abs(float64(dec[i] - samW[i])); d > 1e-6*math.Max(1, math.Abs(float64(samW[i]))) {
			t.Fatalf("decoupled γ = 0.5 around SGD: %v, SAM %v", dec, samW)
		}
	}
}

// TestWSAMNonFiniteSharpness: a NaN only at w+ε leaves the weights (the decoupled term is not
// applied) and is reported.
func TestWSAMNonFiniteSharpness(t *testing.T) {
	o, err := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.1, Variant: "wsam"})
	if err != nil {
		t.Fatal(err)
	}
	q := newQuad([]float64{1, 10})
	bad := func(w, g []float32, lo, hi int, second bool) float64 {
		l := q.loss(w, g, lo, hi, second)
		if second {
			g[1] = float32(math.Inf(1))
		}
		return l
	}
	w := []float32{1, 2}
	if _, err := o.Step(w, 1, bad, 0.1); err == nil {
		t.Fatal("no error for an infinite gradient at w+ε")
	}
	if w[0] != 1 || w[1] != 2 {
		t.Fatalf("weights changed to %v", w)
	}
	if err := (sam.Config{Rho: 0.1, Variant: "wsam", Params: map[string]float64{"wsam-gamma": 1}}).Validate(); err == nil ||
		!contains(err.Error(), "--wsam-gamma") {
		t.Fatalf("γ = 1 gave %v", err)
	}
}
