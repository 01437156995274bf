package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/nn"
)

// TestBezierGradient: the control-point gradient 2t(1−t)∇L(θ(t)) matches central differences of
// L(θ(t)) in c (float64 steps along random unit vectors; a smooth network, evaluation mode).
func TestBezierGradient(t *testing.T) {
	o, a, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{5})
	rng := rand.New(rand.NewPCG(3, 3))
	n := o.Dim()
	b, c := make([]float32, n), make([]float32, n)
	for i := range a {
		b[i] = a[i] + float32(0.5*rng.NormFloat64())
		c[i] = (a[i]+b[i])/2 + float32(0.3*rng.NormFloat64())
	}
	theta, g, gc := make([]float32, n), make([]float32, n), make([]float64, n)
	for _, tt := range []float64{0.2, 0.5, 0.9} {
		bezierGrad(o.Model, &nn.Ctx{}, a, c, b, tt, o.Set, theta, g, gc)
		for range 3 {
			u := randUnit(rng, n)
			const h = 1e-2
			cp, cm := make([]float32, n), make([]float32, n)
			for i := range c {
				cp[i] = float32(float64(c[i]) + h*u[i])
				cm[i] = float32(float64(c[i]) - h*u[i])
			}
			BezierPoint(theta, a, cp, b, tt)
			lp, _ := o.Loss(theta)
			BezierPoint(theta, a, cm, b, tt)
			lm, _ := o.Loss(theta)
			fd := (lp - lm) / (2 * h)
			if an := dot(gc, u); math.Abs(an-fd) > 1e-3*math.Abs(fd)+1e-5 {
				t.Errorf("t = %g: directional derivative %.6g, central difference %.6g", tt, an, fd)
			}
		}
	}
	// The curve's ends are the models.
	BezierPoint(theta, a, c, b, 0)
	for i := range a {
		if theta[i] != a[i] {
			t.Fatal("θ(0) ≠ a")
		}
	}
	BezierPoint(theta, a, c, b, 1)
	for i := range b {
		if theta[i] != b[i] {
			t.Fatal("θ(1) ≠ b")
		}
	}
}

func TestBarrier(t *testing.T) {
	pts := []Point{{Alpha: 0, Loss: 1}, {Alpha: 0.25, Loss: 1.5}, {Alpha: 0.5, Loss: 4}, {Alpha: 1, Loss: 3}}
	h, at, err := Barrier(pts)
	if err != nil || h != 2 || at != 0.5 {
		t.Errorf("barrier %g at %g (%v), want 2 at 0.5", h, at, err)
	}
	h, _, _ = Barrier([]Point{{Alpha: 0, Loss: 1}, {Alpha: 0.5, Loss: 0.5}, {Alpha: 1, Loss: 1}})
	if h != 0 {
		t.Errorf("a path below the chord has barrier %g", h)
	}
	if _, _, err := Barrier(pts[1:]); err == nil {
		t.Error("a path not from t = 0 accepted")
	}
}

// permuteHidden returns the weights of the same function with the hidden units of a one-hidden-
// layer MLP (fc1 [h,d], fc1.bias, fc2 [k,h], fc2.bias) in another order: a second minimum.
func permuteHidden(t *testing.T, o *Objective, w []float32, perm []int) []float32 {
	l := &o.Model.Layout
	w1, _ := l.Lookup("fc1.weight")
	b1, _ := l.Lookup("fc1.bias")
	w2, _ := l.Lookup("fc2.weight")
	h, d, k := w1.Shape[0], w1.Shape[1], w2.Shape[0]
	out := append([]float32(nil), w...)
	for j, p := range perm {
		copy(w1.Of(out)[j*d:(j+1)*d], w1.Of(w)[p*d:(p+1)*d])
		b1.Of(out)[j] = b1.Of(w)[p]
		for r := range k {
			w2.Of(out)[r*h+j] = w2.Of(w)[r*h+p]
		}
	}
	la, _ := o.Loss(w)
	lb, _ := o.Loss(out)
	if math.Abs(la-lb) > 1e-5*la {
		t.Fatalf("permuted loss %g, original %g", lb, la)
	}
	return out
}

// TestBezierConnectsPermutedMinima: an MLP and the same network with its hidden units permuted
// are two minima of equal loss; the straight line between them crosses a barrier, and the
// trained Bézier curve lowers it a lot (Garipov et al.'s observation), with its ends fixed.
func TestBezierConnectsPermutedMinima(t *testing.T) {
	o, w, _, _, _, _ := tinyMLP(t, "tanh", "ce", []int{8})
	g := make([]float64, o.Dim())
	for range 1500 { // full-batch gradient descent to a minimum
		o.LossGrad(w, g)
		for i := range w {
			w[i] -= float32(0.3 * g[i])
		}
	}
	b := permuteHidden(t, o, w, []int{7, 6, 5, 4, 3, 2, 1, 0})
	ts := Linspace(0, 1, 21)
	line := PathLosses(o, ts, func(dst []float32, t float64) {
		for i := range dst {
			dst[i] = float32((1-t)*float64(w[i]) + t*float64(b[i]))
		}
	}, PathOptions{})
	hLine, _, _ := Barrier(line)
	res, err := TrainBezier(o.Model, o.Set, w, b, CurveOptions{Steps: 1500, LR: 0.1, Batch: 40, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	curve := PathLosses(o, ts, func(dst []float32, t float64) { BezierPoint(dst, w, res.Control, b, t) }, PathOptions{})
	hCurve, _, _ := Barrier(curve)
	t.Logf("loss at the minima %.4g; barrier: straight line %.4g, Bézier curve %.4g", line[0].Loss, hLine, hCurve)
	if hLine < 0.1 {
		t.Fatalf("straight-line barrier only %.3g: a weak test case", hLine)
	}
	if hCurve > hLine/3 {
		t.Errorf("the trained curve's barrier %.4g is not well below the straight line's %.4g", hCurve, hLine)
	}
	if curve[0].Loss != line[0].Loss || curve[20].Loss != line[20].Loss {
		t.Errorf("the curve's ends moved: %g %g vs %g %g", curve[0].Loss, curve[20].Loss, line[0].Loss, line[20].Loss)
	}
}

// TestRecomputeBN: the first BatchNorm layer's recomputed running mean is the mean of its input
// over the set, whatever the batch size (equal batches), and the statistics start from scratch.
func TestRecomputeBN(t *testing.T) {
	o, w := convObjective(t, nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}, 12)
	bn := batchNorms(o.Model.Layers)
	if len(bn) == 0 {
		t.Fatal("no BatchNorm layers found")
	}
	before := append([]float32(nil), bn[0].Mean...)
	if !RecomputeBN(o.Model, w, o.Set, 12) {
		t.Fatal("RecomputeBN found no BatchNorm")
	}
	one := append([]float32(nil), bn[0].Mean...)
	RecomputeBN(o.Model, w, o.Set, 6)
	two := append([]float32(nil), bn[0].Mean...)
	// Reference: the mean over examples and positions of conv1's output per channel.
	conv := o.Model.Layers[0]
	y := conv.Forward(&nn.Ctx{}, w, o.Set.X, 12)
	c := len(one)
	hw := len(y) / (12 * c)
	var moved bool
	for ch := range c {
		var s float64
		for e := range 12 {
			for p := range hw {
				s += float64(y[(e*c+ch)*hw+p])
			}
		}
		want := s / float64(12*hw)
		if math.Abs(float64(one[ch])-want) > 1e-5 || math.Abs(float64(two[ch])-want) > 1e-5 {
			t.Errorf("channel %d: running mean %g (one batch), %g (two), want %g", ch, one[ch], two[ch], want)
		}
		moved = moved || one[ch] != before[ch]
	}
	if !moved {
		t.Error("the statistics did not change")
	}
	if bn[0].Momentum != 0.1 {
		t.Errorf("momentum left at %g", bn[0].Momentum)
	}
}
