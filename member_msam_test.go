package sam_test

import (
	"math"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

// TestMSAMStep: two steps of Momentum-SAM around SGD with momentum, computed here in float64:
// the first at w₀ (v = 0), the second at w₁ − ρ·v₁/‖v₁‖, one pass each.
func TestMSAMStep(t *testing.T) {
	const rho, lr, mu = 0.1, 0.02, 0.5
	q := newQuad([]float64{1, 10}, []float64{0.5, -0.2}, []float64{-0.3, 0.4}, []float64{0.1, 0.1})
	o, err := sam.New(&optim.SGD{Momentum: mu}, layout2(false), sam.Config{Rho: rho, Variant: "msam"})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1.2, -0.8}
	for range 2 {
		if _, err := o.Step(w, 3, q.loss, lr); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.calls) != 2 || q.calls[0] || q.calls[1] {
		t.Fatalf("passes %v, want two first passes", q.calls)
	}
	w0 := []float64{1.2, -0.8}
	v1 := qgrad(w0)
	w1 := []float64{w0[0] - lr*v1[0], w0[1] - lr*v1[1]}
	u := unit(v1)
	at := []float64{w1[0] - rho*u[0], w1[1] - rho*u[1]}
	near(t, "second pass at", q.at[1], at, 1e-6)
	g2 := qgrad(at)
	v2 := []float64{mu*v1[0] + g2[0], mu*v1[1] + g2[1]}
	near(t, "w", w, []float64{w1[0] - lr*v2[0], w1[1] - lr*v2[1]}, 1e-6)
}

// TestMSAMAdam: around Adam the direction is the first moment m, read through Clip as well.
func TestMSAMAdam(t *testing.T) {
	const rho = 0.1
	q := newQuad([]float64{1, 10}, []float64{0.5, -0.2}, []float64{-0.3, 0.4}, []float64{0.1, 0.1})
	adam := &optim.Adam{}
	o, err := sam.New(&optim.Clip{Max: 100, Opt: adam}, layout2(false), sam.Config{Rho: rho, Variant: "msam"})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1.2, -0.8}
	if _, err := o.Step(w, 3, q.loss, 0.01); err != nil {
		t.Fatal(err)
	}
	m := append([]float32(nil), adam.MomentumBuffer()...)
	w1 := append([]float32(nil), w...)
	if _, err := o.Step(w, 3, q.loss, 0.01); err != nil {
		t.Fatal(err)
	}
	n := math.Hypot(float64(m[0]), float64(m[1]))
	near(t, "second pass at", q.at[1], []float64{float64(w1[0]) - rho*float64(m[0])/n, float64(w1[1]) - rho*float64(m[1])/n}, 1e-6)
}

// TestMSAMBaseCheck: SGD without momentum is refused in one line naming --momentum.
func TestMSAMBaseCheck(t *testing.T) {
	c := sam.Config{Rho: 0.05, Variant: "msam"}
	if err := sam.CheckBase(c, optim.Config{Name: "sgd"}); err == nil || !strings.HasPrefix(err.Error(), "--momentum:") {
		t.Errorf("sgd without momentum: %v", err)
	}
	for _, b := range []optim.Config{{Name: "sgd", Momentum: 0.9}, {Name: "adam"}, {Name: "adamw"}} {
		if err := sam.CheckBase(c, b); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
	if err := sam.CheckBase(sam.Config{Rho: 0.05}, optim.Config{Name: "sgd"}); err != nil {
		t.Errorf("sam around plain sgd: %v", err)
	}
}
