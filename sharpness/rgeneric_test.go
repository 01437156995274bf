package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// convObjective builds a small model of spec on random images, with BatchNorm running
// statistics moved away from their initial (0, 1) so that evaluation mode is not the identity.
func convObjective(t *testing.T, spec nn.Spec, n int) (*Objective, []float32) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	m, err := nn.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 3)
	for _, b := range m.Buffers() {
		for i := range b.Data {
			if b.Name[len(b.Name)-3:] == "var" {
				b.Data[i] = float32(0.5 + rng.Float64())
			} else {
				b.Data[i] = float32(0.3 * rng.NormFloat64())
			}
		}
	}
	d := m.InDim()
	s := &data.Set{Shape: spec.Input, X: make([]float32, n*d), Classes: spec.Outputs, Labels: make([]int32, n)}
	for i := range s.X {
		s.X[i] = float32(rng.NormFloat64())
	}
	for i := range s.Labels {
		s.Labels[i] = int32(rng.IntN(spec.Outputs))
	}
	o, err := NewObjective(m, s, 5) // several batches, the last one short
	if err != nil {
		t.Fatal(err)
	}
	return o, w
}

func randUnit(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	var s float64
	for i := range v {
		v[i] = rng.NormFloat64()
		s += v[i] * v[i]
	}
	for i := range v {
		v[i] /= math.Sqrt(s)
	}
	return v
}

// smooth replaces the model's ReLUs by tanh and its max pooling by average pooling (in place,
// recursively), so that finite differences of gradients are accurate enough to check against.
func smooth(layers []nn.Layer) {
	for _, l := range layers {
		switch l := l.(type) {
		case *nn.Activation:
			l.Func = "tanh"
		case *nn.Pool2D:
			l.Avg = true
		case *nn.Residual:
			smooth(l.Body)
			smooth(l.Short)
		}
	}
}

// TestGenericExactHVP: for CNNs (convolutions, pooling), a ResNet and WideResNets (BatchNorm,
// residual blocks, global average pooling) the exact products are symmetric (u·Hv = v·Hu) and
// reproducible; with smooth activations they agree with central differences of gradients (on
// ReLU networks the differences cross kinks and cannot serve as a reference); and on a dense
// network they equal the dense R-operator's.
func TestGenericExactHVP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spec   nn.Spec
		smooth bool
	}{
		{"cnn", nn.Spec{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"}, false},
		{"resnet", nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}, false},
		{"cnn smooth", nn.Spec{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"}, true},
		{"resnet smooth", nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}, true},
		// WideResNet: pre-activation blocks with linear sums, identity and 1×1 shortcuts.
		{"wrn", nn.Spec{Model: "wrn", Depth: 10, Width: 1, Input: []int{3, 8, 8}, Outputs: 3, Loss: "ce"}, false},
		{"wrn smooth", nn.Spec{Model: "wrn", Depth: 10, Width: 1, Input: []int{3, 8, 8}, Outputs: 3, Loss: "ce"}, true},
		{"wrn-10-2 dropout smooth", nn.Spec{Model: "wrn", Depth: 10, Width: 2, Dropout: 0.3, Input: []int{2, 4, 4}, Outputs: 3, Loss: "ce"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, w := convObjective(t, tc.spec, 12)
			if tc.smooth {
				smooth(o.Model.Layers)
			}
			h, err := NewHessian(o, w, Exact)
			if err != nil {
				t.Fatal(err)
			}
			if h.seq == nil {
				t.Fatal("the generic R-operator was not used")
			}
			rng := rand.New(rand.NewPCG(5, 6))
			n := o.Dim()
			u, v := randUnit(rng, n), randUnit(rng, n)
			hu, hv := make([]float64, n), make([]float64, n)
			h.Mul(hu, u)
			h.Mul(hv, v)
			a, b := dot(u, hv), dot(v, hu)
			if math.Abs(a-b) > 1e-4*(math.Abs(a)+math.Abs(b))+1e-7 {
				t.Errorf("not symmetric: u·Hv = %g, v·Hu = %g", a, b)
			}
			again := make([]float64, n)
			h.Mul(again, v)
			for i := range again {
				if again[i] != hv[i] {
					t.Fatalf("a second product differs at %d: %g vs %g", i, again[i], hv[i])
				}
			}
			if !tc.smooth {
				return
			}
			// Central differences of float64-accumulated gradients with a step of 1e-3 along the
			// unit vector v (smaller than FDStep's: the residual blocks' output ReLU remains,
			// and the larger step crosses its kinks).
			const step = 1e-3
			wp, wm := make([]float32, n), make([]float32, n)
			for i := range w {
				wp[i] = float32(float64(w[i]) + step*v[i])
				wm[i] = float32(float64(w[i]) - step*v[i])
			}
			gp, gm := make([]float64, n), make([]float64, n)
			o.LossGrad(wp, gp)
			o.LossGrad(wm, gm)
			fv := make([]float64, n)
			for i := range fv {
				fv[i] = (gp[i] - gm[i]) / (2 * step)
			}
			var diff, norm float64
			for i := range hv {
				diff += (hv[i] - fv[i]) * (hv[i] - fv[i])
				norm += hv[i] * hv[i]
			}
			t.Logf("‖Hv‖ = %.4g, ‖Hv − Hv_fd‖/‖Hv‖ = %.3g", math.Sqrt(norm), math.Sqrt(diff/norm))
			if rel := math.Sqrt(diff / norm); !(rel < 5e-3) {
				t.Errorf("‖Hv − Hv_fd‖/‖Hv‖ = %.3g, want < 5e-3", rel)
			}
		})
	}
	// A dense network through the generic nodes matches the dense R-operator.
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{5, 4})
	dense, err := NewHessian(o, w, Exact)
	if err != nil || dense.seq != nil {
		t.Fatalf("dense path: %v", err)
	}
	seq, err := buildGeneric(o.Model)
	if err != nil {
		t.Fatal(err)
	}
	generic, _ := NewHessian(o, w, Exact)
	generic.seq, generic.gscratch = seq, make([]float32, o.Dim())
	rng := rand.New(rand.NewPCG(7, 8))
	v := randUnit(rng, o.Dim())
	a, b := make([]float64, o.Dim()), make([]float64, o.Dim())
	dense.Mul(a, v)
	generic.Mul(b, v)
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-5*(1+math.Abs(a[i])) {
			t.Fatalf("H v [%d]: dense R-operator %g, generic %g", i, a[i], b[i])
		}
	}
}
