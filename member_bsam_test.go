package sam

import (
	"math"
	"strings"
	"testing"

	"github.com/samgo/sam/optim"
)

// TestBSAMStep: two steps replayed in float64 from the same normal draws (Algorithm 1 of the
// paper: the noisy sample, ε = ρg/s, the moments, then the mean step with the new s).
func TestBSAMStep(t *testing.T) {
	const rho, lr, n, prior, damping, b1, b2 = 0.05, 0.1, 200.0, 10.0, 0.1, 0.9, 0.99
	b := newBowl()
	cfg := Config{Rho: rho, Variant: "bsam", Seed: 5, Params: map[string]float64{"bsam-n": n, "bsam-prior": prior,
		"bsam-damping": damping, "bsam-s0": 2, "bsam-beta1": b1, "bsam-beta2": b2}}
	o, err := New(&optim.SGD{}, bowlLayout(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := append([]float32(nil), bowlW...)
	m := make([]float64, 8)
	sv := []float64{2, 2, 2, 2, 2, 2, 2, 2}
	wf := make([]float64, 8)
	for i, x := range bowlW {
		wf[i] = float64(x)
	}
	delta := prior / n
	z := make([]float32, 8)
	for step := range 2 {
		b.at = nil
		if _, err := o.Step(w, 1, b.loss, lr); err != nil {
			t.Fatal(err)
		}
		normals(z, 5, step)
		theta, pert := make([]float64, 8), make([]float64, 8)
		for i := range wf {
			theta[i] = wf[i] + float64(z[i])/math.Sqrt(n*sv[i])
		}
		g := b.grad(theta)
		for i := range wf {
			pert[i] = wf[i] + rho*g[i]/sv[i]
		}
		ge := b.grad(pert)
		for i := range wf {
			m[i] = b1*m[i] + (1-b1)*(ge[i]+delta*wf[i])
			sv[i] = b2*sv[i] + (1-b2)*(math.Sqrt(sv[i])*math.Abs(g[i])+delta+damping)
			wf[i] -= lr * m[i] / sv[i]
		}
		for i := range wf {
			if d := math.Abs(float64(b.at[0][i]) - theta[i]); d > 1e-6 {
				t.Fatalf("step %d: sample %v, want %v", step, b.at[0], theta)
			}
			if d := math.Abs(float64(b.at[1][i]) - pert[i]); d > 1e-6 {
				t.Fatalf("step %d: perturbed point %v, want %v", step, b.at[1], pert)
			}
			if d := math.Abs(float64(w[i]) - wf[i]); d > 1e-6 {
				t.Fatalf("step %d: w %v, want %v", step, w, wf)
			}
		}
	}
}

// TestBSAMRefusals: bSAM refuses base optimizers it would silently ignore and --l2, naming the
// flag.
func TestBSAMRefusals(t *testing.T) {
	c := Config{Rho: 0.01, Variant: "bsam"}
	for flag, b := range map[string]optim.Config{
		"--opt":          {Name: "adam"},
		"--momentum":     {Name: "sgd", Momentum: 0.9},
		"--weight-decay": {Name: "sgd", WeightDecay: 0.01},
		"--clip":         {Name: "sgd", Clip: 1},
	} {
		if err := CheckBase(c, b); err == nil || !strings.HasPrefix(err.Error(), flag+":") {
			t.Errorf("%+v: %v, want an error naming %s", b, err, flag)
		}
	}
	if err := CheckBase(c, optim.Config{Name: "sgd"}); err != nil {
		t.Errorf("plain sgd: %v", err)
	}
	c.L2 = 0.001
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "--l2:") {
		t.Errorf("--l2: %v", err)
	}
}
