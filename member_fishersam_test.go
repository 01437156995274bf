package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

// TestFisherSAMHandStep: one step of plain SGD (lr = 0.1, ρ = 0.1, η = 0.5) on
// L(w) = ½(w₁² + 10 w₂²) from w = (1, 2), by hand:
//
//	g = (1, 20), f = 1 + 0.5·g² = (1.5, 201), f⁻¹g = (0.666667, 0.0995025)
//	gᵀf⁻¹g = 1/1.5 + 400/201 = 2.65672
//	ε = 0.1·f⁻¹g/√2.65672 = (0.0409014, 0.00610467)
//	g_p = (1.0409014, 20.0610467); w ← w − 0.1·g_p = (0.89590986, −0.00610467)
func TestFisherSAMHandStep(t *testing.T) {
	g := []float64{1, 20}
	f := []float64{1 + 0.5*g[0]*g[0], 1 + 0.5*g[1]*g[1]}
	d := []float64{g[0] / f[0], g[1] / f[1]}
	n := math.Sqrt(g[0]*d[0] + g[1]*d[1])
	at := []float64{1 + 0.1*d[0]/n, 2 + 0.1*d[1]/n}
	want := []float64{1 - 0.1*at[0], 2 - 0.1*10*at[1]}
	near(t, "hand values", []float32{float32(at[0]), float32(at[1]), float32(want[0]), float32(want[1])},
		[]float64{1.0409014, 2.00610467, 0.89590986, -0.00610467}, 1e-6)

	q := newQuad([]float64{1, 10})
	o, err := sam.New(&optim.SGD{}, layout2(false), sam.Config{Rho: 0.1, Variant: "fishersam", Params: map[string]float64{"fisher-eta": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	w := []float32{1, 2}
	if _, err := o.Step(w, 1, q.loss, 0.1); err != nil {
		t.Fatal(err)
	}
	near(t, "w+ε", q.at[1], at, 1e-6)
	near(t, "w", w, want, 1e-6)
}

// TestFisherSAMLimit: η = 0 is SAM, bit for bit: f = 1 exactly, and Dot64(g, g) adds in the same
// order as SumSq64(g) (checked with the AVX2 code, SAM_NOASM=1 and -tags purego).
func TestFisherSAMLimit(t *testing.T) {
	ref, _ := run(t, sam.Config{Rho: 0.1}, 25, 0.02)
	w, _ := run(t, sam.Config{Rho: 0.1, Variant: "fishersam", Params: map[string]float64{"fisher-eta": 0}}, 25, 0.02)
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("η = 0: %v, SAM %v", w, ref)
	}
	for _, c := range []sam.Config{
		{Rho: 0.1, Variant: "fishersam", P: 3},
		{Rho: 0.1, Variant: "fishersam", Adaptive: true},
		{Rho: 0.1, Variant: "fishersam", AscentSteps: 2},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
