package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// Mode connectivity (Garipov, Izmailov, Podoprikhin, Vetrov, Wilson, NeurIPS 2018): the loss
// along a path between two solutions a and b, the straight line (1−t)·a + t·b or a quadratic
// Bézier curve θ(t) = (1−t)²·a + 2t(1−t)·c + t²·b whose control point c is trained to make the
// loss low all along it, and the barrier height of each path.

// BezierPoint writes θ(t) = (1−t)²·a + 2t(1−t)·c + t²·b into dst.
func BezierPoint(dst, a, c, b []float32, t float64) {
	p, q, r := (1-t)*(1-t), 2*t*(1-t), t*t
	for i := range dst {
		dst[i] = float32(p*float64(a[i]) + q*float64(c[i]) + r*float64(b[i]))
	}
}

// CurveOptions tune TrainBezier. Zero values mean the defaults.
type CurveOptions struct {
	Steps    int     // SGD steps; 0 means 300
	LR       float64 // learning rate; 0 means 0.05
	Momentum float64 // heavy-ball momentum; 0 means 0.9, negative means none
	Batch    int     // examples per step; 0 means 64
	Seed     uint64  // batches and the t of each step
}

// CurveResult is a trained Bézier curve.
type CurveResult struct {
	Control []float32 // c
	Losses  []float64 // the mini-batch loss L(θ(t)) of each step, at its random t
}

// TrainBezier trains the control point c of the Bézier curve from a to b (the model's weights)
// by SGD on E_{t∼U(0,1)} L(θ(t)): each step draws t and a mini-batch of set and follows the
// gradient ∂L(θ(t))/∂c = 2t(1−t)·∇L(θ(t)), starting from the midpoint c = (a+b)/2 (where the
// curve is the straight line). Gradients are taken in training mode (dropout on, BatchNorm with
// batch statistics), as the curve is trained like a network; the model's running statistics
// are left as they were.
func TrainBezier(m *nn.Model, set *data.Set, a, b []float32, opt CurveOptions) (CurveResult, error) {
	n := m.Layout.Size()
	if len(a) != n || len(b) != n {
		return CurveResult{}, fmt.Errorf("sharpness: the two models must have the model's %d parameters", n)
	}
	if set.N() == 0 {
		return CurveResult{}, fmt.Errorf("sharpness: no examples to train the curve on")
	}
	steps, lr, mom, batch := opt.Steps, opt.LR, opt.Momentum, opt.Batch
	if steps <= 0 {
		steps = 300
	}
	if lr <= 0 {
		lr = 0.05
	}
	switch {
	case mom == 0:
		mom = 0.9
	case mom < 0:
		mom = 0
	}
	if batch <= 0 {
		batch = 64
	}
	batch = min(batch, set.N())
	saved := NewStats(m)
	defer saved.Restore()
	rng := rand.New(rand.NewPCG(opt.Seed, 0xbe21e7))
	c := make([]float32, n)
	for i := range c {
		c[i] = float32((float64(a[i]) + float64(b[i])) / 2)
	}
	vel := make([]float64, n)
	theta := make([]float32, n)
	g := make([]float32, n)
	gc := make([]float64, n)
	ctx := &nn.Ctx{Train: true, Rng: rand.New(rand.NewPCG(opt.Seed, 0xd50))}
	res := CurveResult{}
	idx := make([]int, batch)
	for range steps {
		t := rng.Float64()
		perm := rng.Perm(set.N())
		copy(idx, perm[:batch])
		sub := set.Subset(idx)
		loss := bezierGrad(m, ctx, a, c, b, t, sub, theta, g, gc)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return res, fmt.Errorf("sharpness: the curve's loss diverged (%g); lower the learning rate", loss)
		}
		res.Losses = append(res.Losses, loss)
		for i, gi := range gc {
			vel[i] = mom*vel[i] + gi
			c[i] = float32(float64(c[i]) - lr*vel[i])
		}
	}
	res.Control = c
	return res, nil
}

// bezierGrad returns the loss L(θ(t)) on the examples of set and writes its gradient in the
// control point, ∂L(θ(t))/∂c = 2t(1−t)·∇L(θ(t)), into gc; theta and g are scratch.
func bezierGrad(m *nn.Model, ctx *nn.Ctx, a, c, b []float32, t float64, set *data.Set, theta, g []float32, gc []float64) float64 {
	BezierPoint(theta, a, c, b, t)
	loss, _ := m.Grad(ctx, theta, g, set.X, set.N(), nn.Target{Labels: set.Labels, Y: set.Y})
	f := 2 * t * (1 - t)
	for i, gi := range g {
		gc[i] = f * float64(gi)
	}
	return loss
}

// batchNorms lists the model's BatchNorm layers, residual blocks included.
func batchNorms(layers []nn.Layer) []*nn.BatchNorm {
	var out []*nn.BatchNorm
	for _, l := range layers {
		switch l := l.(type) {
		case *nn.BatchNorm:
			out = append(out, l)
		case *nn.Residual:
			out = append(out, batchNorms(l.Body)...)
			out = append(out, batchNorms(l.Short)...)
		}
	}
	return out
}

// HasBatchNorm reports whether m has BatchNorm layers (residual blocks included).
func HasBatchNorm(m *nn.Model) bool { return len(batchNorms(m.Layers)) > 0 }

// RecomputeBN sets the running statistics of every BatchNorm layer of m to their average over
// set at weights w (forward passes in training mode over batches of batch rows, each batch
// weighted equally: the momentum of batch k is 1/k), as Garipov et al. do at every point of a
// path: weights between two solutions need their own statistics. It reports whether the model
// has BatchNorm layers (without, it does nothing).
func RecomputeBN(m *nn.Model, w []float32, set *data.Set, batch int) bool {
	bns := batchNorms(m.Layers)
	if len(bns) == 0 {
		return false
	}
	if batch <= 0 {
		batch = DefaultBatch
	}
	mom := make([]float64, len(bns))
	for i, l := range bns {
		mom[i] = l.Momentum
	}
	ctx := &nn.Ctx{Train: true, Rng: rand.New(rand.NewPCG(1, 2))}
	d := set.Dim()
	k := 0
	for lo := 0; lo < set.N(); lo += batch {
		hi := min(lo+batch, set.N())
		k++
		for _, l := range bns {
			l.Momentum = 1 / float64(k)
		}
		m.Forward(ctx, w, set.X[lo*d:hi*d], hi-lo)
	}
	for i, l := range bns {
		l.Momentum = mom[i]
	}
	return true
}

// PathOptions tune PathLosses.
type PathOptions struct {
	// BN recomputes the BatchNorm statistics at every point on this set (nil: keep the model's).
	BN      *data.Set
	BNBatch int
}

// PathLosses evaluates the loss of o at point(t) for each t, where point writes the weights of
// the path at t. With opt.BN the model's BatchNorm statistics are recomputed at every point and
// restored afterwards.
func PathLosses(o *Objective, ts []float64, point func(dst []float32, t float64), opt PathOptions) []Point {
	saved := NewStats(o.Model)
	defer saved.Restore()
	w := make([]float32, o.Dim())
	pts := make([]Point, len(ts))
	for i, t := range ts {
		point(w, t)
		if opt.BN != nil {
			RecomputeBN(o.Model, w, opt.BN, opt.BNBatch)
		}
		l, acc := o.Loss(w)
		pts[i] = Point{Alpha: t, Loss: l, Acc: acc}
	}
	return pts
}

// Barrier is the height of the loss barrier on a path from a (t = 0) to b (t = 1): the largest
// excess of the loss over the straight interpolation of the endpoint losses,
// max_t L(t) − ((1−t)·L(0) + t·L(1)) (Frankle et al. 2020; 0 for a path that stays below the
// chord), and the t where it is reached. pts must start at t = 0 and end at t = 1.
func Barrier(pts []Point) (height, at float64, err error) {
	if len(pts) < 2 || pts[0].Alpha != 0 || pts[len(pts)-1].Alpha != 1 {
		return 0, 0, fmt.Errorf("sharpness: a barrier needs points from t = 0 to t = 1")
	}
	l0, l1 := pts[0].Loss, pts[len(pts)-1].Loss
	for _, p := range pts {
		if h := p.Loss - ((1-p.Alpha)*l0 + p.Alpha*l1); h > height {
			height, at = h, p.Alpha
		}
	}
	return height, at, nil
}
