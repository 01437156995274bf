package train

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
)

// BenchmarkAugment times crop+flip+cutout of one CIFAR-sized batch (128 images of 3×32×32),
// the work augmentation adds to a training step; `sam bench --augment crop,flip,cutout` times
// whole steps with it.
func BenchmarkAugment(b *testing.B) {
	g, err := NewAugmenter(Augment{Crop: true, Pad: 4, Flip: true, Cutout: 16}, []int{3, 32, 32}, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 128*3*32*32)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		g.Apply(x, 128)
	}
}

// BenchmarkAugmentOverhead alternates SAM steps of the smallest WideResNet (WRN-10-1, batch 32
// of 3×32×32 images, where augmentation weighs most) with and without crop+flip+cutout, and
// reports how much longer the fastest augmented step is than the fastest plain one
// (overhead-%). Alternating step by step and keeping the fastest of each exposes both to the
// same interference, which on a shared machine only slows steps down.
func BenchmarkAugmentOverhead(b *testing.B) {
	const batch = 32
	m, err := nn.Build(nn.Spec{Model: "wrn", Depth: 10, Width: 1, Input: []int{3, 32, 32}, Outputs: 10, Loss: "ce"})
	if err != nil {
		b.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	base, err := optim.New(optim.Config{Name: "sgd", Momentum: 0.9}, &m.Layout)
	if err != nil {
		b.Fatal(err)
	}
	opt, err := sam.New(base, &m.Layout, sam.Config{Rho: 0.05})
	if err != nil {
		b.Fatal(err)
	}
	g, err := NewAugmenter(Augment{Crop: true, Pad: 4, Flip: true, Cutout: 16}, []int{3, 32, 32}, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	orig := make([]float32, batch*m.InDim())
	for i := range orig {
		orig[i] = float32(rng.NormFloat64())
	}
	x := make([]float32, len(orig))
	t := nn.Target{Labels: make([]int32, batch)}
	for i := range t.Labels {
		t.Labels[i] = int32(rng.IntN(10))
	}
	ctx := &nn.Ctx{Train: true, Rng: rng}
	loss := func(w, grad []float32, lo, hi int, second bool) float64 {
		ctx.Second = second
		l, _ := m.Grad(ctx, w, grad, x[lo*m.InDim():hi*m.InDim()], hi-lo, nn.Target{Labels: t.Labels[lo:hi]})
		return l
	}
	ex := &nn.Examples{Model: m, Ctx: ctx, X: x, T: t, N: batch}
	step := func(augment bool) time.Duration {
		start := time.Now()
		copy(x, orig) // training copies every batch in, augmented or not
		if augment {
			g.Apply(x, batch)
		}
		if _, err := opt.StepExamples(w, batch, loss, ex, 0.01); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	step(false) // warm-up
	step(true)
	best := [2]time.Duration{math.MaxInt64, math.MaxInt64}
	for b.Loop() {
		for k := range best {
			best[k] = min(best[k], step(k == 1))
		}
	}
	b.ReportMetric(float64(best[0].Microseconds()), "plain-µs")
	b.ReportMetric(float64(best[1].Microseconds()), "augmented-µs")
	b.ReportMetric(100*(float64(best[1])/float64(best[0])-1), "overhead-%")
}
