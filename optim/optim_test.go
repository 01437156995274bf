package optim

import (
	"math"
	"testing"

	"github.com/samgo/sam/param"
)

func approx(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %.9g, want %.9g", what, i, got[i], want[i])
		}
	}
}

// TestSGDConventions follows PyTorch's SGD by hand for three steps with gradients 1, 2, 3.
func TestSGDConventions(t *testing.T) {
	gs := []float32{1, 2, 3}
	for _, tc := range []struct {
		name string
		o    *SGD
		want float64
	}{
		// plain: w = 1 − 0.1(1+2+3)
		{"plain", &SGD{}, 1 - 0.1*6},
		// momentum 0.9: v = 1, 2.9, 5.61; w = 1 − 0.1(1+2.9+5.61)
		{"momentum", &SGD{Momentum: 0.9}, 1 - 0.1*(1+2.9+5.61)},
		// nesterov: steps use g + μv = 1.9, 4.61, 8.049
		{"nesterov", &SGD{Momentum: 0.9, Nesterov: true}, 1 - 0.1*(1.9+4.61+8.049)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := []float32{1}
			for _, g := range gs {
				tc.o.Step(w, []float32{g}, 0.1)
			}
			approx(t, "w", w, []float64{tc.want})
		})
	}
}

// TestAdam follows PyTorch's Adam by hand for two steps.
func TestAdam(t *testing.T) {
	w := []float32{1}
	o := &Adam{}
	g1, g2 := 0.5, -1.0
	o.Step(w, []float32{float32(g1)}, 0.01)
	o.Step(w, []float32{float32(g2)}, 0.01)
	m1, v1 := 0.1*g1, 0.001*g1*g1
	w1 := 1 - 0.01*(m1/0.1)/(math.Sqrt(v1/0.001)+1e-8)
	m2, v2 := 0.9*m1+0.1*g2, 0.999*v1+0.001*g2*g2
	bc1, bc2 := 1-0.81, 1-0.999*0.999
	w2 := w1 - 0.01/bc1*m2/(math.Sqrt(v2)/math.Sqrt(bc2)+1e-8)
	approx(t, "w", w, []float64{w2})
}

// TestDecoupledDecayOnWeightsOnly: AdamW-style decay w ← w − lr·wd·w before the update, not on biases.
func TestDecoupledDecayOnWeightsOnly(t *testing.T) {
	var l param.Layout
	l.Add("w", param.Weight, 1)
	l.Add("b", param.Bias, 1)
	w := []float32{2, 2}
	(&SGD{WeightDecay: 0.5, Layout: &l}).Step(w, []float32{0, 0}, 0.1)
	approx(t, "sgd w", w, []float64{2 * (1 - 0.05), 2})
	w = []float32{2, 2}
	(&Adam{WeightDecay: 0.5, Layout: &l}).Step(w, []float32{1, 1}, 0.1)
	approx(t, "adamw w", w, []float64{2*(1-0.05) - 0.1, 2 - 0.1})
}

func TestClip(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGlobalNorm(g, 1); n != 5 {
		t.Fatalf("norm %g", n)
	}
	approx(t, "g", g, []float64{0.6, 0.8})
	g = []float32{0.3, 0.4}
	ClipGlobalNorm(g, 1)
	approx(t, "unclipped g", g, []float64{0.3, 0.4})
	w := []float32{0, 0}
	(&Clip{Max: 1, Opt: &SGD{}}).Step(w, []float32{30, 40}, 1)
	approx(t, "w", w, []float64{-0.6, -0.8})
}

func TestSchedules(t *testing.T) {
	for _, tc := range []struct {
		s     Schedule
		steps []int
		want  []float64
	}{
		{Schedule{Kind: "constant"}, []int{0, 50, 99}, []float64{1, 1, 1}},
		{Schedule{Kind: "constant", Warmup: 4}, []int{0, 1, 3, 4}, []float64{0.25, 0.5, 1, 1}},
		{Schedule{Kind: "step", Every: 10, Gamma: 0.5}, []int{0, 9, 10, 25}, []float64{1, 1, 0.5, 0.25}},
		{Schedule{Kind: "cosine"}, []int{0, 50, 100}, []float64{1, 0.5, 0}},
		{Schedule{Kind: "cosine", Min: 0.1}, []int{0, 50}, []float64{1, 0.55}},
		{Schedule{Kind: "cosine", Warmup: 10}, []int{4, 10, 55}, []float64{0.5, 1, 0.5}},
	} {
		if err := tc.s.Validate(); err != nil {
			t.Fatal(err)
		}
		for i, st := range tc.steps {
			if got := tc.s.LR(1, st, 100); math.Abs(got-tc.want[i]) > 1e-12 {
				t.Errorf("%+v: LR(step %d) = %g, want %g", tc.s, st, got, tc.want[i])
			}
		}
	}
	for _, s := range []Schedule{{Kind: "linear"}, {Kind: "step"}, {Kind: "step", Every: 1, Gamma: 0}, {Kind: "constant", Warmup: -1}} {
		if s.Validate() == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Name: "lbfgs"}, {Name: "sgd", Momentum: 1}, {Name: "sgd", Nesterov: true},
		{Name: "adam", Momentum: 0.9}, {Name: "sgd", WeightDecay: -1}, {Name: "adam", Beta2: 1}, {Name: "sgd", Clip: -1}} {
		if _, err := New(c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	o, err := New(Config{Name: "adamw", WeightDecay: 0.01, Clip: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := o.(*Clip); !ok || c.Opt.(*Adam).WeightDecay != 0.01 {
		t.Fatalf("New built %#v", o)
	}
}
