package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/samgo/sam/param"
)

// TestWinogradGradients: finite-difference checks of Winograd convolutions, with and without
// bias, on images whose sides are and are not multiples of the 4×4 output tile, one channel
// and several, in chunks of several examples.
func TestWinogradGradients(t *testing.T) {
	defer lowerWinoMin()()
	for _, tc := range []struct {
		name string
		l    *Conv2D
		in   []int
		n    int
	}{
		{"8x8", &Conv2D{Out: 3, K: 3, Pad: 1, Winograd: true}, []int{2, 8, 8}, 4},
		{"5x7 nobias", &Conv2D{Out: 2, K: 3, Pad: 1, NoBias: true, Winograd: true}, []int{3, 5, 7}, 3},
		{"1 channel 6x9", &Conv2D{Out: 17, K: 3, Pad: 1, Winograd: true}, []int{1, 6, 9}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.l.Winograd {
				t.Fatal("not a Winograd layer")
			}
			checkLayer(t, tc.l, tc.in, tc.n, &Ctx{})
			if !tc.l.winograd() {
				t.Fatal("the layer ran the direct convolution")
			}
		})
	}
}

// lowerWinoMin lets layers with any number of input channels use Winograd, until the returned
// function restores the limit.
func lowerWinoMin() func() {
	old := winoMinChannels
	winoMinChannels = 1
	return func() { winoMinChannels = old }
}

// convPass runs one forward and backward pass of l (built for in) on n examples and returns
// the output, the parameter gradient and the input gradient.
func convPass(t *testing.T, l *Conv2D, in []int, n int, relu bool, seed uint64) (y, g, dx []float32) {
	t.Helper()
	var lay param.Layout
	out, err := l.Build(&lay, "c", in)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	w := make([]float32, lay.Size())
	l.Init(w, rng)
	x := randVec(rng, n*size(in), 1)
	dy := randVec(rng, n*size(out), 1)
	y = append([]float32(nil), l.forward(w, x, n, relu, nil)...)
	g = make([]float32, lay.Size())
	dx = append([]float32(nil), l.Backward(&Ctx{}, w, g, dy, n, true)...)
	return y, g, dx
}

// TestWinogradMatchesDirect: the Winograd convolution gives the direct convolution's output
// and gradients up to rounding, with the fused ReLU, on WideResNet- and ResNet-like shapes.
func TestWinogradMatchesDirect(t *testing.T) {
	defer lowerWinoMin()()
	for _, tc := range []struct {
		in     []int
		out, n int
		relu   bool
		noBias bool
	}{
		{[]int{16, 32, 32}, 16, 3, false, true},
		{[]int{32, 14, 14}, 32, 5, true, false},
		{[]int{64, 7, 7}, 48, 9, true, true},
		{[]int{5, 11, 6}, 7, 17, false, false},
		{[]int{32, 4, 4}, 32, 6, false, true},
		{[]int{16, 8, 8}, 16, 6, false, true},
		{[]int{3, 2, 2}, 16, 6, false, true},
	} {
		name := fmt.Sprintf("%v-%d-n%d", tc.in, tc.out, tc.n)
		t.Run(name, func(t *testing.T) {
			yd, gd, dxd := convPass(t, &Conv2D{Out: tc.out, K: 3, Pad: 1, NoBias: tc.noBias}, tc.in, tc.n, tc.relu, 5)
			yw, gw, dxw := convPass(t, &Conv2D{Out: tc.out, K: 3, Pad: 1, NoBias: tc.noBias, Winograd: true}, tc.in, tc.n, tc.relu, 5)
			for _, c := range []struct {
				what string
				a, b []float32
			}{{"output", yw, yd}, {"parameter gradient", gw, gd}, {"input gradient", dxw, dxd}} {
				same := 0
				for i := range c.a {
					if math.Float32bits(c.a[i]) == math.Float32bits(c.b[i]) {
						same++
					}
				}
				if same == len(c.a) {
					t.Fatalf("%s: the same bits as the direct convolution: Winograd did not run", c.what)
				}
				scale := 0.0
				for _, v := range c.b {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				for i := range c.a {
					if d := math.Abs(float64(c.a[i] - c.b[i])); d > 1e-4*scale || math.IsNaN(d) {
						t.Fatalf("%s %d: Winograd %g, direct %g (scale %g)", c.what, i, c.a[i], c.b[i], scale)
					}
				}
			}
		})
	}
}

// TestWinogradModelGradient: a Winograd WideResNet's, ResNet's and CNN's gradients are the direct
// convolution's (which TestModelGradients checks by finite differences) up to rounding. The
// finite-difference check itself is not used on the WideResNet: on the 8×8 images that keep it
// fast (BatchNorm over 2×2 maps of 6 examples) its loss has ReLU kinks within 1e-4 of the point
// along random directions, and rounding moves them (the same comparison on 8×8 images reads a
// relative difference of 0.012, all of it in a few elements, against 3e-6 on 12×12).
func TestWinogradModelGradient(t *testing.T) {
	defer lowerWinoMin()()
	for _, spec := range []Spec{
		{Model: "wrn", Depth: 10, Width: 2, Input: []int{3, 12, 12}, Outputs: 4, Loss: "ce"},
		{Model: "resnet", Input: []int{2, 14, 14}, Outputs: 4, Loss: "ce"},
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce"}, // conv, ReLU and pooling fused
	} {
		grad := func(conv string) []float32 {
			s := spec
			s.Conv = conv
			m, err := Build(s)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := m.Init("default", 1)
			x, labels := randomBatch(m, 6, 3)
			g := make([]float32, len(w))
			m.Grad(&Ctx{Train: true}, w, g, x, 6, Target{Labels: labels})
			return g
		}
		gd, gw := grad(""), grad("winograd")
		var dd, nd float64
		for i := range gd {
			d := float64(gw[i] - gd[i])
			dd += d * d
			nd += float64(gd[i]) * float64(gd[i])
		}
		if rel := math.Sqrt(dd / nd); rel > 1e-4 || slices.Equal(gd, gw) {
			t.Errorf("%s %v: ‖g_winograd − g_direct‖/‖g_direct‖ = %.3g (want in (0, 1e-4])", spec.Model, spec.Input, rel)
		}
	}
}
