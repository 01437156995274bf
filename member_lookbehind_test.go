package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

func lookbehindConfig(k, alpha, adaptive, l2 float64) sam.Config {
	return sam.Config{Rho: 0.1, L2: l2, Variant: "lookbehind", Params: map[string]float64{
		"lookbehind-k": k, "lookbehind-alpha": alpha, "lookbehind-adaptive": adaptive}}
}

// TestLookbehindStep: one step with k = 2 around SGD with momentum 0.5 and --l2, computed here
// in float64: the ascent goes on from p₁, the fast weights take two momentum steps (L2 at φ),
// the slow weights move α of the way.
func TestLookbehindStep(t *testing.T) {
	const rho, lr, mu, lam = 0.1, 0.02, 0.5, 0.01
	for _, adaptive := range []bool{false, true} {
		ad := 0.0
		if adaptive {
			ad = 1
		}
		w, q := run(t, lookbehindConfig(2, 0.3, ad, lam), 1, lr)
		if len(q.calls) != 3 {
			t.Fatalf("%d passes, want k + 1 = 3", len(q.calls))
		}
		add := func(a []float64, c float64, b []float64) []float64 {
			return []float64{a[0] + c*b[0], a[1] + c*b[1]}
		}
		w0 := []float64{1.2, -0.8}
		p1 := add(w0, rho, unit(qgrad(w0)))
		g1 := qgrad(p1)
		v1 := add(g1, lam, w0) // φ₀ = w₀
		phi1 := add(w0, -lr, v1)
		p2 := add(p1, rho, unit(g1))
		v2 := add(add(qgrad(p2), lam, phi1), mu, v1)
		phi2 := add(phi1, -lr, v2)
		alpha := 0.3
		if adaptive {
			a, b := add(phi1, -1, w0), add(phi2, -1, w0)
			alpha = ((a[0]*b[0]+a[1]*b[1])/(math.Hypot(a[0], a[1])*math.Hypot(b[0], b[1])) + 1) / 2
		}
		near(t, "second ascent point", q.at[2], p2, 1e-6)
		near(t, "w", w, add(w0, alpha, add(phi2, -1, w0)), 1e-6)
	}
}

// TestLookbehindLimit: k = 1, α = 1 is SAM bit for bit, around SGD with momentum (the run
// helper) and around Adam with --l2.
func TestLookbehindLimit(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 25, 0.02)
	w, _ := run(t, lookbehindConfig(1, 1, 0, 0), 25, 0.02)
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("k = 1, α = 1: %v, SAM %v", w, ref)
	}
	adam := func(cfg sam.Config) []float32 {
		q := newQuad([]float64{1, 10}, []float64{0.5, -0.2}, []float64{-0.3, 0.4})
		o, err := sam.New(&optim.Adam{}, layout2(false), cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := []float32{1.2, -0.8}
		for range 25 {
			if _, err := o.Step(w, 2, q.loss, 0.01); err != nil {
				t.Fatal(err)
			}
		}
		return w
	}
	if w, ref := adam(lookbehindConfig(1, 1, 0, 0.01)), adam(sam.Config{Rho: 0.1, L2: 0.01}); !reflect.DeepEqual(w, ref) {
		t.Fatalf("adam, k = 1, α = 1: %v, SAM %v", w, ref)
	}
}
