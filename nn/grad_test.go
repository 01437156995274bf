package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/samgo/sam/param"
)

// fdTol is the relative tolerance of the float32 finite-difference checks below.
const fdTol = 2e-3

var fdH = 1e-2

func randVec(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * scale)
	}
	return v
}

// compare checks an analytic gradient against central differences of f along coordinates (all,
// or a random 300 of big vectors) and along random directions, which average out float32 noise.
// ReLU and max pooling have kinks: where a step crosses one the central difference is off, but
// one of the one-sided differences is clean. A point passes if the central difference, or a
// one-sided one, matches; at most a tenth of the points may need the one-sided fallback.
func compare(t *testing.T, what string, x, grad []float32, f func() float64, h float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	scale := 0.0
	for _, g := range grad {
		scale = math.Max(scale, math.Abs(float64(g)))
	}
	scale = math.Max(scale, 1e-3)
	kinks, points := 0, 0
	// check moves x by ±s·dir for s = step, step/10, step/100 and compares the difference
	// quotients with want: a kink closer than the step spoils it, a smaller step does not.
	check := func(label string, dir []float32, step, want, tol float64) {
		t.Helper()
		orig := append([]float32(nil), x...)
		set := func(s float64) float64 {
			for i := range x {
				x[i] = orig[i] + float32(s)*dir[i]
			}
			return f()
		}
		defer copy(x, orig)
		points++
		f0 := set(0)
		var seen []float64
		for _, s := range []float64{step, step / 10, step / 100} {
			fp, fm := set(s), set(-s)
			central, forward, backward := (fp-fm)/(2*s), (fp-f0)/s, (f0-fm)/s
			if math.Abs(central-want) <= tol {
				return
			}
			seen = append(seen, central, forward, backward)
		}
		for i := 0; i < len(seen); i += 3 {
			if math.Abs(seen[i+1]-want) <= 5*tol || math.Abs(seen[i+2]-want) <= 5*tol {
				kinks++
				return
			}
		}
		t.Fatalf("%s %s: analytic %.6g; numeric (central, forward, backward at steps h, h/10, h/100) %.6g (scale %.3g)", what, label, want, seen, scale)
	}
	coords := rng.Perm(len(x))
	if len(coords) > 300 {
		coords = coords[:300]
	}
	unit := make([]float32, len(x))
	for _, i := range coords {
		unit[i] = 1
		check(fmt.Sprintf("[%d]", i), unit, h, float64(grad[i]), fdTol*scale+1e-4*math.Abs(float64(grad[i])))
		unit[i] = 0
	}
	for k := 0; k < 3; k++ {
		v := randVec(rng, len(x), 1)
		var dot float64
		for i := range x {
			dot += float64(v[i]) * float64(grad[i])
		}
		check(fmt.Sprintf("along random direction %d", k), v, h/10, dot, 5e-3*math.Max(math.Abs(dot), 0.05))
	}
	if kinks > points/10 {
		t.Fatalf("%s: %d of %d points matched only one-sided differences", what, kinks, points)
	}
}

// checkLayer verifies a layer's parameter and input gradients with the scalar L = Σ r∘y.
func checkLayer(t *testing.T, l Layer, in []int, n int, ctx *Ctx) {
	t.Helper()
	var lay param.Layout
	out, err := l.Build(&lay, "l", in)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	w := make([]float32, lay.Size())
	l.Init(w, rng)
	for i := range w { // break symmetry beyond the initialiser's range
		w[i] += float32(rng.NormFloat64() * 0.1)
	}
	x := randVec(rng, n*size(in), 1)
	r := randVec(rng, n*size(out), 1)
	seed := uint64(3)
	f := func() float64 {
		c := *ctx
		if c.Train {
			c.Rng = rand.New(rand.NewPCG(seed, 1))
		}
		y := l.Forward(&c, w, x, n)
		var s float64
		for i, v := range y {
			s += float64(v) * float64(r[i])
		}
		return s
	}
	f()
	g := make([]float32, lay.Size())
	dx := append([]float32(nil), l.Backward(ctx, w, g, r, n, true)...)
	if lay.Size() > 0 {
		compare(t, "dparams", w, g, f, fdH)
	}
	compare(t, "dx", x, dx, f, fdH)
}

func TestLayerGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Layer
		in   []int
	}{
		{"dense", &Dense{Out: 5}, []int{7}},
		{"dense nobias", &Dense{Out: 3, NoBias: true}, []int{4}},
		{"dense 2d input", &Dense{Out: 3}, []int{2, 3}},
		{"tanh", &Activation{Func: "tanh"}, []int{6}},
		{"sigmoid", &Activation{Func: "sigmoid"}, []int{6}},
		{"relu", &Activation{Func: "relu"}, []int{6}},
		{"conv 3x3 pad 1", &Conv2D{Out: 3, K: 3, Pad: 1}, []int{2, 5, 5}},
		{"conv 3x3 stride 2", &Conv2D{Out: 2, K: 3, Stride: 2}, []int{2, 7, 6}},
		{"conv 1x1 nobias", &Conv2D{Out: 4, K: 1, NoBias: true}, []int{3, 4, 4}},
		{"conv 2x2 stride 2 pad 1", &Conv2D{Out: 2, K: 2, Stride: 2, Pad: 1}, []int{1, 5, 5}},
		{"conv 5x5 pad 2", &Conv2D{Out: 2, K: 5, Pad: 2}, []int{1, 6, 7}},
		{"conv 3x3 pad 0", &Conv2D{Out: 2, K: 3}, []int{2, 5, 6}},
		{"conv 3x3 pad 3", &Conv2D{Out: 2, K: 3, Pad: 3}, []int{1, 4, 4}},
		{"maxpool", &Pool2D{K: 2}, []int{2, 4, 6}},
		{"avgpool", &Pool2D{K: 2, Avg: true}, []int{2, 5, 4}},
		{"global avgpool", &Pool2D{Global: true}, []int{3, 3, 2}},
		{"batchnorm eval", &BatchNorm{}, []int{3, 2, 2}},
		{"residual identity", NewBasicBlock(2, 2, 1), []int{2, 4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkLayer(t, tc.l, tc.in, 4, &Ctx{}) })
	}
	for _, tc := range []struct {
		name string
		l    Layer
		in   []int
	}{
		{"batchnorm train 2d", &BatchNorm{}, []int{3, 2, 3}},
		{"batchnorm train 1d", &BatchNorm{}, []int{5}},
		{"batchnorm ghost 2d uneven", &BatchNorm{Ghost: 3}, []int{3, 2, 3}}, // chunks of 3 and 1 examples
		{"batchnorm ghost 2d", &BatchNorm{Ghost: 2}, []int{3, 2, 3}},
		{"batchnorm ghost 1d uneven", &BatchNorm{Ghost: 3}, []int{5}},
		{"residual projection ghost", func() Layer {
			r := NewBasicBlock(2, 3, 2)
			setGhost(r.Body, 2)
			setGhost(r.Short, 2)
			return r
		}(), []int{2, 5, 5}},
		{"residual projection train", NewBasicBlock(2, 3, 2), []int{2, 5, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkLayer(t, tc.l, tc.in, 4, &Ctx{Train: true, Rng: rand.New(rand.NewPCG(3, 1))}) })
	}
	t.Run("dropout train", func(t *testing.T) {
		checkLayer(t, &Dropout{P: 0.3}, []int{8}, 3, &Ctx{Train: true, Rng: rand.New(rand.NewPCG(3, 1))})
	})
}

func TestLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	n, k := 5, 4
	labels := []int32{0, 3, 1, 1, 2}
	binary := []int32{0, 1, 1, 0, 1}
	for _, tc := range []struct {
		name string
		loss Loss
		dim  int
		t    Target
	}{
		{"ce", SoftmaxCrossEntropy{}, k, Target{Labels: labels}},
		{"ce smoothing", SoftmaxCrossEntropy{Smoothing: 0.1}, k, Target{Labels: labels}},
		{"mse", MSE{}, 3, Target{Y: randVec(rng, n*3, 1)}},
		{"bce targets", BCEWithLogits{}, 2, Target{Y: []float32{0, 1, 1, 1, 0, 0, 1, 0, 0.5, 1}}},
		{"bce labels", BCEWithLogits{}, 1, Target{Labels: binary}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			z := randVec(rng, n*tc.dim, 2)
			d := make([]float32, len(z))
			tc.loss.Eval(z, n, tc.dim, tc.t, d)
			compare(t, "dz", z, d, func() float64 { return tc.loss.Eval(z, n, tc.dim, tc.t, nil) }, 1e-2)
		})
	}
}

// TestLossValues pins the losses to values computed by hand.
func TestLossValues(t *testing.T) {
	// z = (0, ln 3) for label 1: softmax = (1/4, 3/4), CE = −ln(3/4).
	z := []float32{0, float32(math.Log(3))}
	if got, want := (SoftmaxCrossEntropy{}).Eval(z, 1, 2, Target{Labels: []int32{1}}, nil), -math.Log(0.75); math.Abs(got-want) > 1e-6 {
		t.Fatalf("CE = %g, want %g", got, want)
	}
	// smoothing 0.2 over K=2: target (0.1, 0.9): loss = −0.1 ln(1/4) − 0.9 ln(3/4).
	want := -0.1*math.Log(0.25) - 0.9*math.Log(0.75)
	if got := (SoftmaxCrossEntropy{Smoothing: 0.2}).Eval(z, 1, 2, Target{Labels: []int32{1}}, nil); math.Abs(got-want) > 1e-6 {
		t.Fatalf("CE smoothed = %g, want %g", got, want)
	}
	// MSE of (1,2),(3,5) against zeros: (1+4+9+25)/4.
	if got := (MSE{}).Eval([]float32{1, 2, 3, 5}, 2, 2, Target{Y: make([]float32, 4)}, nil); got != 39.0/4 {
		t.Fatalf("MSE = %g, want 9.75", got)
	}
	// BCE at z = 0 is ln 2 whatever the target; stable for huge logits.
	if got := (BCEWithLogits{}).Eval([]float32{0, 0}, 2, 1, Target{Y: []float32{0, 1}}, nil); math.Abs(got-math.Ln2) > 1e-7 {
		t.Fatalf("BCE(0) = %g", got)
	}
	if got := (BCEWithLogits{}).Eval([]float32{1000, -1000}, 2, 1, Target{Y: []float32{1, 0}}, nil); got != 0 {
		t.Fatalf("BCE at confident correct logits = %g, want 0", got)
	}
	// CE is stable for huge logits.
	if got := (SoftmaxCrossEntropy{}).Eval([]float32{1e4, 0}, 1, 2, Target{Labels: []int32{1}}, nil); math.Abs(got-1e4) > 1e-3 {
		t.Fatalf("CE(1e4, 0; y=1) = %g, want 1e4", got)
	}
}

// TestModelGradients checks every model's full gradient (all spans) against finite differences.
func TestModelGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"linear", Spec{Model: "linear", Input: []int{3}, Outputs: 2, Loss: "mse"}},
		{"logistic", Spec{Model: "logistic", Input: []int{4}, Outputs: 3, Loss: "ce"}},
		{"logistic bce", Spec{Model: "logistic", Input: []int{4}, Outputs: 1, Loss: "bce"}},
		{"mlp tanh", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{6, 4}, Activation: "tanh", Loss: "ce", LabelSmoothing: 0.1}},
		{"mlp sigmoid", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{4}, Activation: "sigmoid", Loss: "ce"}},
		{"mlp relu", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{8}, Loss: "ce"}},
		{"mlp dropout", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{8}, Activation: "tanh", Dropout: 0.25, Loss: "ce"}},
		{"cnn", Spec{Model: "cnn", Input: []int{1, 6, 6}, Outputs: 3, Loss: "ce"}},
		{"resnet", Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}},
		{"wrn-10-1", Spec{Model: "wrn", Depth: 10, Width: 1, Input: []int{3, 8, 8}, Outputs: 3, Loss: "ce"}},
		{"resnet winograd", Spec{Model: "resnet", Width: 2, Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce", Conv: "winograd"}},
		{"wrn-10-2 dropout", Spec{Model: "wrn", Depth: 10, Width: 2, Dropout: 0.3, Input: []int{2, 6, 6}, Outputs: 3, Loss: "ce"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := m.Init("default", 1)
			rng := rand.New(rand.NewPCG(9, 9))
			n := 6
			x := randVec(rng, n*m.InDim(), 1)
			var tgt Target
			if tc.spec.Loss == "mse" {
				tgt.Y = randVec(rng, n*tc.spec.Outputs, 1)
			} else {
				tgt.Labels = make([]int32, n)
				for i := range tgt.Labels {
					tgt.Labels[i] = int32(rng.IntN(max(tc.spec.Outputs, 2)))
				}
			}
			train := tc.spec.Dropout > 0 || tc.spec.Model == "resnet" || tc.spec.Model == "wrn" // BatchNorm in training mode
			ctx := func() *Ctx { return &Ctx{Train: train, Rng: rand.New(rand.NewPCG(4, 4))} }
			g := make([]float32, len(w))
			m.Grad(ctx(), w, g, x, n, tgt)
			f := func() float64 {
				out := m.Forward(ctx(), w, x, n)
				return m.Loss.Eval(out, n, tc.spec.Outputs, tgt, nil)
			}
			compare(t, "dw", w, g, f, fdH)
		})
	}
}

// TestDropoutSecondPassReusesMask: SAM's second pass must see the same mask as the first.
func TestDropoutSecondPassReusesMask(t *testing.T) {
	d := &Dropout{P: 0.5}
	x := make([]float32, 64)
	for i := range x {
		x[i] = 1
	}
	first := append([]float32(nil), d.Forward(&Ctx{Train: true, Rng: rand.New(rand.NewPCG(1, 1))}, nil, x, 8)...)
	second := d.Forward(&Ctx{Train: true, Second: true, Rng: rand.New(rand.NewPCG(2, 2))}, nil, x, 8)
	zeros := 0
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("mask differs at %d", i)
		}
		if first[i] == 0 {
			zeros++
		} else if first[i] != 2 {
			t.Fatalf("kept value %g, want 1/(1−p) = 2", first[i])
		}
	}
	if zeros < 16 || zeros > 48 {
		t.Fatalf("%d of 64 dropped at p = 0.5", zeros)
	}
	if y := d.Forward(&Ctx{}, nil, x, 8); &y[0] != &x[0] {
		t.Fatal("evaluation mode is not the identity")
	}
}

func TestBuildErrors(t *testing.T) {
	for _, s := range []Spec{
		{Model: "cnn9", Input: []int{3}, Outputs: 2, Loss: "ce"},
		{Model: "mlp", Input: []int{3}, Outputs: 2, Loss: "ce"},
		{Model: "mlp", Input: []int{3}, Outputs: 2, Hidden: []int{0}, Loss: "ce"},
		{Model: "mlp", Input: []int{3}, Outputs: 2, Hidden: []int{4}, Activation: "gelu9", Loss: "ce"},
		{Model: "mlp", Input: []int{3}, Outputs: 2, Hidden: []int{4}, Dropout: 1, Loss: "ce"},
		{Model: "linear", Input: []int{3}, Outputs: 2, Hidden: []int{4}, Loss: "mse"},
		{Model: "logistic", Input: []int{3}, Outputs: 2, Loss: "hinge"},
		{Model: "logistic", Input: []int{3}, Outputs: 2, Loss: "ce", LabelSmoothing: 1},
		{Model: "wrn", Depth: 12, Input: []int{3, 8, 8}, Outputs: 2, Loss: "ce"},
		{Model: "wrn", Depth: 4, Input: []int{3, 8, 8}, Outputs: 2, Loss: "ce"},
		{Model: "wrn", Depth: 10, Input: []int{12}, Outputs: 2, Loss: "ce"},
		{Model: "wrn", Depth: 10, Dropout: 1, Input: []int{3, 8, 8}, Outputs: 2, Loss: "ce"},
	} {
		if _, err := Build(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

func TestSpansAndInit(t *testing.T) {
	m, err := Build(Spec{Model: "mlp", Input: []int{1, 28, 28}, Outputs: 10, Hidden: []int{256, 256}, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"}
	for i, s := range m.Layout.Spans {
		if s.Name != want[i] {
			t.Fatalf("span %d = %s, want %s", i, s.Name, want[i])
		}
	}
	if m.Layout.Size() != 269322 {
		t.Fatalf("%d parameters, want 269322", m.Layout.Size())
	}
	if s := m.Layout.Spans[0]; s.Shape[0] != 256 || s.Shape[1] != 784 || s.Kind != param.Weight {
		t.Fatalf("fc1.weight = %+v, want [256 784] weight", s)
	}
	w1, _ := m.Init("default", 3)
	w2, _ := m.Init("default", 3)
	bound := float32(1 / math.Sqrt(784))
	for i := range w1 {
		if w1[i] != w2[i] {
			t.Fatal("Init is not deterministic")
		}
	}
	for _, v := range m.Layout.Spans[0].Of(w1) {
		if v < -bound || v > bound {
			t.Fatalf("fc1 weight %g outside ±1/√784", v)
		}
	}
	z, _ := m.Init("zeros", 3)
	for _, v := range z {
		if v != 0 {
			t.Fatal("zeros init not zero")
		}
	}
}

// TestBatchNormRunningStatistics: the first pass updates the running averages (PyTorch's
// momentum 0.1, unbiased variance), SAM's second pass does not, evaluation mode uses them.
func TestBatchNormRunningStatistics(t *testing.T) {
	var lay param.Layout
	bn := &BatchNorm{}
	bn.Build(&lay, "bn", []int{1, 1, 2})
	w := make([]float32, lay.Size())
	bn.Init(w, nil)
	x := []float32{1, 3, 5, 7} // two examples of 2 values: mean 4, biased var 5, unbiased 20/3
	bn.Forward(&Ctx{Train: true}, w, x, 2)
	if math.Abs(float64(bn.Mean[0])-0.4) > 1e-6 || math.Abs(float64(bn.Var[0])-(0.9+0.1*20.0/3)) > 1e-6 {
		t.Fatalf("running mean %g var %g after one pass", bn.Mean[0], bn.Var[0])
	}
	m, v := bn.Mean[0], bn.Var[0]
	y := bn.Forward(&Ctx{Train: true, Second: true}, w, []float32{0, 0, 10, 10}, 2)
	if bn.Mean[0] != m || bn.Var[0] != v {
		t.Fatal("the second pass changed the running statistics")
	}
	if math.Abs(float64(y[0])+1) > 1e-4 { // normalised with its own batch statistics
		t.Fatalf("second pass y = %v", y)
	}
	y = bn.Forward(&Ctx{}, w, []float32{0.4, 0.4, 0.4, 0.4}, 2)
	if math.Abs(float64(y[0])) > 1e-6 {
		t.Fatalf("evaluation mode does not use the running mean: %v", y)
	}
}

func TestCheckpointBuffers(t *testing.T) {
	m, err := Build(Spec{Model: "resnet", Input: []int{1, 8, 8}, Outputs: 2, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	bs := m.Buffers()
	if len(bs) != 2*(1+2*3+2) { // BN layers: stem, two per block, projection shortcuts of stages 2 and 3
		t.Fatalf("%d buffers", len(bs))
	}
	if bs[0].Name != "bn1.running_mean" || bs[1].Name != "bn1.running_var" {
		t.Fatalf("buffer names %s, %s", bs[0].Name, bs[1].Name)
	}
}

// TestGradRows: the gradient of the mean loss over a subset of the mini-batch's examples, taken
// after a second-pass Forward (ESAM's data selection), matches finite differences of the
// per-example losses; for models without BatchNorm it also equals Grad on those rows alone.
func TestGradRows(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
	}{
		{"linear mse", Spec{Model: "linear", Input: []int{3}, Outputs: 2, Loss: "mse"}},
		{"logistic bce", Spec{Model: "logistic", Input: []int{4}, Outputs: 1, Loss: "bce"}},
		{"mlp relu", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{8, 6}, Loss: "ce"}},
		{"mlp dropout", Spec{Model: "mlp", Input: []int{5}, Outputs: 3, Hidden: []int{8}, Activation: "tanh", Dropout: 0.25, Loss: "ce"}},
		{"cnn", Spec{Model: "cnn", Input: []int{1, 6, 6}, Outputs: 3, Loss: "ce"}},
		{"resnet", Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}},
		{"wrn", Spec{Model: "wrn", Depth: 10, Width: 1, Input: []int{2, 4, 4}, Outputs: 3, Loss: "ce"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Build(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := m.Init("default", 1)
			rng := rand.New(rand.NewPCG(9, 9))
			n, k := 7, tc.spec.Outputs
			x := randVec(rng, n*m.InDim(), 1)
			var tgt Target
			if tc.spec.Loss == "ce" {
				tgt.Labels = make([]int32, n)
				for i := range tgt.Labels {
					tgt.Labels[i] = int32(i % k)
				}
			} else {
				tgt.Y = randVec(rng, n*k, 1)
				if tc.spec.Loss == "bce" {
					for i := range tgt.Y {
						tgt.Y[i] = float32(i % 2)
					}
				}
			}
			ctx := &Ctx{Train: true, Rng: rand.New(rand.NewPCG(4, 4))}
			g := make([]float32, len(w))
			l, _ := m.Grad(ctx, w, g, x, n, tgt) // the first pass draws the dropout masks
			per := make([]float32, n)
			m.ExampleLosses(tgt, per)
			var mean float64
			for _, v := range per {
				mean += float64(v) / float64(n)
			}
			if math.Abs(mean-l) > 1e-5*math.Max(1, math.Abs(l)) {
				t.Fatalf("mean of ExampleLosses %g, loss %g", mean, l)
			}
			ex := &Examples{Model: m, Ctx: ctx, X: x, T: tgt, N: n}
			idx := []int{1, 4, 5}
			wp := append([]float32(nil), w...)
			for i := range wp {
				wp[i] += 0.01 * float32(rng.NormFloat64())
			}
			f := func() float64 {
				ex.Forward(wp)
				ex.Losses(per)
				var s float64
				for _, i := range idx {
					s += float64(per[i])
				}
				return s / float64(len(idx))
			}
			want := f()
			ex.Forward(wp)
			gr := make([]float32, len(w))
			got := ex.Backward(wp, gr, idx)
			if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Fatalf("GradRows loss %g, mean of the rows' losses %g", got, want)
			}
			compare(t, "dw", wp, gr, f, fdH)
			// All rows: exactly Grad's gradient (second pass), whichever path GradRows takes.
			all := []int{0, 1, 2, 3, 4, 5, 6}
			ga, gg := make([]float32, len(w)), make([]float32, len(w))
			ex.Forward(wp)
			ex.Backward(wp, ga, all)
			m.Grad(ctx, wp, gg, x, n, tgt)
			for i := range gg {
				if math.Abs(float64(ga[i]-gg[i])) > 1e-6*math.Max(1, math.Abs(float64(gg[i]))) {
					t.Fatalf("all rows: g[%d] = %g, Grad gives %g", i, ga[i], gg[i])
				}
			}
			if !m.rowwise() || tc.spec.Dropout > 0 {
				return
			}
			// Row-wise models: the same as Grad on the rows alone.
			d := m.InDim()
			xs := make([]float32, 0, len(idx)*d)
			ts := Target{}
			for _, i := range idx {
				xs = append(xs, x[i*d:(i+1)*d]...)
				if tgt.Labels != nil {
					ts.Labels = append(ts.Labels, tgt.Labels[i])
				} else {
					ts.Y = append(ts.Y, tgt.Y[i*k:(i+1)*k]...)
				}
			}
			gs := make([]float32, len(w))
			m.Grad(&Ctx{Train: true, Second: true}, wp, gs, xs, len(idx), ts)
			for i := range gs {
				if math.Abs(float64(gs[i]-gr[i])) > 1e-6*math.Max(1, math.Abs(float64(gs[i]))) {
					t.Fatalf("g[%d]: GradRows %g, Grad on the rows %g", i, gr[i], gs[i])
				}
			}
		})
	}
}

// TestConvPoolReference compares Conv2D's forward pass and input gradient, and 2×2 max pooling
// with its arg-max, with direct loops over the definitions.
func TestConvPoolReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, tc := range []struct{ c, h, w, out, k, stride, pad int }{
		{2, 6, 7, 3, 3, 1, 1}, {1, 5, 5, 2, 5, 1, 2}, {2, 7, 6, 2, 3, 2, 1}, {1, 4, 4, 2, 3, 1, 3}, {3, 5, 5, 2, 1, 1, 0},
	} {
		l := &Conv2D{Out: tc.out, K: tc.k, Stride: tc.stride, Pad: tc.pad}
		var lay param.Layout
		shape, err := l.Build(&lay, "c", []int{tc.c, tc.h, tc.w})
		if err != nil {
			t.Fatal(err)
		}
		w := randVec(rng, lay.Size(), 1)
		n := 2
		x := randVec(rng, n*tc.c*tc.h*tc.w, 1)
		y := l.Forward(&Ctx{}, w, x, n)
		oh, ow := shape[1], shape[2]
		W, B := l.W.Of(w), l.B.Of(w)
		dy := randVec(rng, len(y), 1)
		g := make([]float32, lay.Size())
		dx := l.Backward(&Ctx{}, w, g, dy, n, true)
		wantDX := make([]float64, len(x))
		for e := range n {
			for o := range tc.out {
				for i := range oh {
					for j := range ow {
						s := float64(B[o])
						for ch := range tc.c {
							for a := range tc.k {
								for b := range tc.k {
									ii, jj := i*tc.stride-tc.pad+a, j*tc.stride-tc.pad+b
									if ii < 0 || ii >= tc.h || jj < 0 || jj >= tc.w {
										continue
									}
									xi := ((e*tc.c+ch)*tc.h+ii)*tc.w + jj
									wi := ((o*tc.c+ch)*tc.k+a)*tc.k + b
									s += float64(W[wi]) * float64(x[xi])
									wantDX[xi] += float64(W[wi]) * float64(dy[((e*tc.out+o)*oh+i)*ow+j])
								}
							}
						}
						if got := y[((e*tc.out+o)*oh+i)*ow+j]; math.Abs(float64(got)-s) > 1e-4 {
							t.Fatalf("%+v: y[%d,%d,%d,%d] = %g, want %g", tc, e, o, i, j, got, s)
						}
					}
				}
			}
		}
		for i := range wantDX {
			if math.Abs(float64(dx[i])-wantDX[i]) > 1e-4 {
				t.Fatalf("%+v: dx[%d] = %g, want %g", tc, i, dx[i], wantDX[i])
			}
		}
	}
	// 2×2 max pooling: the maximum, and the first position holding it (row-major in the window).
	p := &Pool2D{K: 2}
	if _, err := p.Build(nil, "p", []int{2, 4, 6}); err != nil {
		t.Fatal(err)
	}
	x := randVec(rng, 2*2*4*6, 1)
	for i := range x {
		x[i] = float32(math.Round(float64(x[i]))) // many ties
	}
	y := append([]float32(nil), p.Forward(&Ctx{}, nil, x, 2)...)
	dy := randVec(rng, len(y), 1)
	dx := p.Backward(&Ctx{}, nil, nil, dy, 2, true)
	wantDX := make([]float32, len(x))
	for e := range 2 {
		for ch := range 2 {
			for i := range 2 {
				for j := range 3 {
					o := ((e*2+ch)*2+i)*3 + j
					best, at := float32(math.Inf(-1)), -1
					for a := range 2 {
						for b := range 2 {
							xi := ((e*2+ch)*4+2*i+a)*6 + 2*j + b
							if x[xi] > best {
								best, at = x[xi], xi
							}
						}
					}
					if y[o] != best {
						t.Fatalf("pool y[%d] = %g, want %g", o, y[o], best)
					}
					wantDX[at] += dy[o]
				}
			}
		}
	}
	for i := range dx {
		if dx[i] != wantDX[i] {
			t.Fatalf("pool dx[%d] = %g, want %g (the first maximum takes the gradient)", i, dx[i], wantDX[i])
		}
	}
}

// bnPass runs a BatchNorm built for in on n rows x in training mode and returns its output,
// running averages, parameter gradient and input gradient for the output gradient dy.
func bnPass(bn *BatchNorm, in []int, w, x, dy []float32, n int) (y, mean, vr, g, dx []float32) {
	var lay param.Layout
	bn.Build(&lay, "bn", in)
	if w == nil {
		w = make([]float32, lay.Size())
		bn.Init(w, nil)
	}
	c := &Ctx{Train: true}
	y = append([]float32(nil), bn.Forward(c, w, x, n)...)
	g = make([]float32, lay.Size())
	dx = append([]float32(nil), bn.Backward(c, w, g, dy, n, true)...)
	return y, append([]float32(nil), bn.Mean...), append([]float32(nil), bn.Var...), g, dx
}

// TestGhostBatchNorm: Ghost ≥ the batch is plain BatchNorm bit for bit; Ghost G is plain
// BatchNorm on each chunk of G examples in turn (outputs, input gradients and running averages
// bit for bit, the parameter gradient the chunks' sum), in training mode; evaluation mode
// ignores it.
func TestGhostBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	in, n := []int{3, 2, 2}, 8
	per := size(in)
	x, dy := randVec(rng, n*per, 2), randVec(rng, n*per, 1)
	w := randVec(rng, 2*in[0], 1)
	same := func(what string, a, b []float32) {
		t.Helper()
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s[%d]: %g, want %g bit for bit", what, i, a[i], b[i])
			}
		}
	}
	y0, m0, v0, g0, dx0 := bnPass(&BatchNorm{}, in, w, x, dy, n)
	for _, ghost := range []int{n, n + 5} {
		y, m, v, g, dx := bnPass(&BatchNorm{Ghost: ghost}, in, w, x, dy, n)
		same("y", y, y0)
		same("running mean", m, m0)
		same("running var", v, v0)
		same("dparams", g, g0)
		same("dx", dx, dx0)
	}
	// Ghost 3 on 8 rows: chunks of 3, 3 and 2 examples.
	y, m, v, g, dx := bnPass(&BatchNorm{Ghost: 3}, in, w, x, dy, n)
	ref := &BatchNorm{}
	var lay param.Layout
	ref.Build(&lay, "bn", in)
	ref.Init(make([]float32, lay.Size()), nil)
	gsum := make([]float64, len(g))
	c := &Ctx{Train: true}
	for lo := 0; lo < n; lo += 3 {
		hi := min(lo+3, n)
		yc := ref.Forward(c, w, x[lo*per:hi*per], hi-lo)
		same("chunk y", y[lo*per:hi*per], yc)
		gc := make([]float32, len(g))
		dxc := ref.Backward(c, w, gc, dy[lo*per:hi*per], hi-lo, true)
		same("chunk dx", dx[lo*per:hi*per], dxc)
		for i, v := range gc {
			gsum[i] += float64(v)
		}
	}
	same("running mean after the chunks", m, ref.Mean)
	same("running var after the chunks", v, ref.Var)
	for i, s := range gsum {
		if math.Abs(float64(g[i])-s) > 1e-5*math.Max(1, math.Abs(s)) {
			t.Fatalf("dparams[%d] = %g, the chunks' sum %g", i, g[i], s)
		}
	}
	if slices.Equal(y, y0) || slices.Equal(m, m0) {
		t.Fatal("ghost chunks normalised as the whole batch")
	}
	// Evaluation mode uses the running averages, whatever Ghost is.
	e0 := append([]float32(nil), ref.Forward(&Ctx{}, w, x, n)...)
	ref.Ghost = 3
	same("evaluation mode", ref.Forward(&Ctx{}, w, x, n), e0)
}

// TestSetGhost: every BatchNorm of the ResNet, inside its blocks too, gets the ghost size.
func TestSetGhost(t *testing.T) {
	m, err := Build(Spec{Model: "resnet", Input: []int{1, 8, 8}, Outputs: 2, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	if k := SetGhost(m, 4); k != len(m.Buffers())/2 {
		t.Fatalf("SetGhost set %d BatchNorm layers, the model has %d", k, len(m.Buffers())/2)
	}
	blk := m.Layers[3].(*Residual)
	if blk.Body[1].(*BatchNorm).Ghost != 4 {
		t.Fatal("a block's BatchNorm has no ghost size")
	}
}
