package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

// TestFriendlySAMHandSteps: three steps of plain SGD (lr = 0.1, ρ = 0.1, σ = 0.8, λ = 0.6) on
// L(w) = ½(w₁² + 10 w₂²) from w = (1, 2), against the rule computed here in float64: the first
// step is SAM's and sets m = g₁; then d = g_t − σm, m ← λm + (1−λ)g_t.
func TestFriendlySAMHandSteps(t *testing.T) {
	const rho, lr, sigma, lambda = 0.1, 0.1, 0.8, 0.6
	grad := func(w []float64) []float64 { return []float64{w[0], 10 * w[1]} }
	w := []float64{1, 2}
	var m []float64
	var points [][]float64 // the ascent points w+ε
	var ws [][]float64
	for step := range 3 {
		g := grad(w)
		d := append([]float64(nil), g...)
		if step == 0 {
			m = append([]float64(nil), g...)
		} else {
			for j := range d {
				d[j] = g[j] - sigma*m[j]
				m[j] = lambda*m[j] + (1-lambda)*g[j]
			}
		}
		n := math.Hypot(d[0], d[1])
		at := []float64{w[0] + rho*d[0]/n, w[1] + rho*d[1]/n}
		gp := grad(at)
		w = []float64{w[0] - lr*gp[0], w[1] - lr*gp[1]}
		points, ws = append(points, at), append(ws, w)
	}
	q := newQuad([]float64{1, 10})
	o, err := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: rho, Variant: "friendlysam",
		Params: map[string]float64{"fsam-sigma": sigma, "fsam-lambda": lambda}})
	if err != nil {
		t.Fatal(err)
	}
	w32 := []float32{1, 2}
	for step := range 3 {
		if _, err := o.Step(w32, 1, q.loss, lr); err != nil {
			t.Fatal(err)
		}
		near(t, "w+ε", q.at[2*step+1], points[step], 1e-6)
		near(t, "w", w32, ws[step], 1e-6)
	}
	// The removed average matters here: plain SAM's second ascent point is elsewhere.
	samAt := func(w []float64) []float64 {
		g := grad(w)
		n := math.Hypot(g[0], g[1])
		return []float64{w[0] + rho*g[0]/n, w[1] + rho*g[1]/n}
	}(ws[0])
	if math.Abs(samAt[0]-points[1][0])+math.Abs(samAt[1]-points[1][1]) < 1e-3 {
		t.Fatalf("the test cannot tell FriendlySAM from SAM: %v, %v", samAt, points[1])
	}
}

// TestFriendlySAMLimit: σ = 0 is SAM, bit for bit.
func TestFriendlySAMLimit(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 25, 0.02)
	w, _ := run(t, sam.Config{Rho: 0.1, Variant: "friendlysam", Params: map[string]float64{"fsam-sigma": 0}}, 25, 0.02)
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("σ = 0: %v, SAM %v", w, ref)
	}
}

// TestFriendlySAMNonFiniteKeepsAverage: a step with a NaN gradient is refused and does not
// poison the average: the next steps are as if it had not happened.
func TestFriendlySAMNonFiniteKeepsAverage(t *testing.T) {
	cfg := sam.Config{Rho: 0.1, Variant: "friendlysam"}
	q := newQuad([]float64{1, 10})
	bad := func(w, g []float32, lo, hi int, second bool) float64 {
		q.loss(w, g, lo, hi, second)
		g[0] = float32(math.NaN())
		return math.NaN()
	}
	o1, _ := sam.New(&optim.SGD{}, layout2(false), cfg)
	o2, _ := sam.New(&optim.SGD{}, layout2(false), cfg)
	w1, w2 := []float32{1, 2}, []float32{1, 2}
	for step := range 4 {
		if step == 2 {
			if _, err := o2.Step(w2, 1, bad, 0.05); err == nil {
				t.Fatal("no error for a NaN gradient")
			}
		}
		o1.Step(w1, 1, q.loss, 0.05)
		o2.Step(w2, 1, q.loss, 0.05)
	}
	if !reflect.DeepEqual(w1, w2) {
		t.Fatalf("after a refused step: %v, without it %v", w2, w1)
	}
}
