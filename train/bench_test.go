package train

import (
	"math/rand/v2"
	"testing"
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
