package tensor

// Vector helpers for optimizers. They run on the calling goroutine; callers
// that want parallelism split vectors with Parallel.

// Axpy computes y += alpha·x (product rounded to float32, never fused). It panics if len(y) < len(x); only the first
// len(x) elements of y are updated.
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		ys := y[i : i+4 : i+4]
		ys[0] += float32(alpha * xs[0])
		ys[1] += float32(alpha * xs[1])
		ys[2] += float32(alpha * xs[2])
		ys[3] += float32(alpha * xs[3])
	}
	for ; i < len(x); i++ {
		y[i] += float32(alpha * x[i])
	}
}

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs := x[i : i+4 : i+4]
		xs[0] *= alpha
		xs[1] *= alpha
		xs[2] *= alpha
		xs[3] *= alpha
	}
	for ; i < len(x); i++ {
		x[i] *= alpha
	}
}

// Dot64 returns Σ x[i]·y[i] accumulated in float64. It panics if the lengths
// differ. The summation order is fixed (it depends only on the length): eight
// interleaved partial sums s[i%8] over the first len&^7 elements, combined as
// ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then the tail added in order.
func Dot64(x, y []float32) float64 {
	if len(x) != len(y) {
		panic("tensor: Dot64: length mismatch")
	}
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs := x[i : i+8 : i+8]
		ys := y[i : i+8 : i+8]
		s0 += float64(xs[0]) * float64(ys[0])
		s1 += float64(xs[1]) * float64(ys[1])
		s2 += float64(xs[2]) * float64(ys[2])
		s3 += float64(xs[3]) * float64(ys[3])
		s4 += float64(xs[4]) * float64(ys[4])
		s5 += float64(xs[5]) * float64(ys[5])
		s6 += float64(xs[6]) * float64(ys[6])
		s7 += float64(xs[7]) * float64(ys[7])
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	for ; i < len(x); i++ {
		s += float64(x[i]) * float64(y[i])
	}
	return s
}

// SumSq64 returns Σ x[i]² accumulated in float64, with the same fixed
// summation order as Dot64.
func SumSq64(x []float32) float64 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs := x[i : i+8 : i+8]
		v0, v1, v2, v3 := float64(xs[0]), float64(xs[1]), float64(xs[2]), float64(xs[3])
		v4, v5, v6, v7 := float64(xs[4]), float64(xs[5]), float64(xs[6]), float64(xs[7])
		s0 += v0 * v0
		s1 += v1 * v1
		s2 += v2 * v2
		s3 += v3 * v3
		s4 += v4 * v4
		s5 += v5 * v5
		s6 += v6 * v6
		s7 += v7 * v7
	}
	s := ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
	for ; i < len(x); i++ {
		v := float64(x[i])
		s += v * v
	}
	return s
}
