package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFusedPasses: the fused passes give the same bits as the two plain calls each replaces,
// on short and long (chunked, threaded) vectors.
func TestFusedPasses(t *testing.T) {
	defer SetThreads(SetThreads(3))
	rng := rand.New(rand.NewPCG(17, 18))
	for _, n := range []int{0, 5, 16, 1000, 2 * splitMin, 5*splitMin + 7} {
		f := func() []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			return x
		}
		x, y, w := f(), f(), f()
		d1, d2 := make([]float32, n), make([]float32, n)
		e1, e2 := append([]float32(nil), x...), append([]float32(nil), x...)
		s1 := AscentPass(d1, w, e1, 0.3, y)
		AddScaled(e2, e2, 0.3, y)
		AddScaled(d2, w, 1, e2)
		if s2 := SumSq64(e2); s1 != s2 || !equalBits(d1, d2) || !equalBits(e1, e2) {
			t.Fatalf("n=%d: AscentPass %v, plain %v", n, s1, s2)
		}
		copy(e1, x)
		copy(e2, x)
		ScaleAdd(d1, w, e1, 0.7)
		Scale(0.7, e2)
		AddScaled(d2, w, 1, e2)
		if !equalBits(d1, d2) || !equalBits(e1, e2) {
			t.Fatalf("n=%d: ScaleAdd differs from Scale + AddScaled", n)
		}
		ss, dd := SumSqDot64(x, y)
		if ss != SumSq64(y) || dd != Dot64(x, y) {
			t.Fatalf("n=%d: SumSqDot64 %v %v, plain %v %v", n, ss, dd, SumSq64(y), Dot64(x, y))
		}
	}
}

func equalBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}
