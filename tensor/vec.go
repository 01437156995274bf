package tensor

import "math"

// Vector helpers for the optimizers and SAM's elementwise passes. They run on
// the calling goroutine. On amd64 with AVX2 and FMA the bulk of each vector
// (a multiple of 16 elements) goes through the assembly loops of
// vec_amd64.s; the results are bit-identical to the portable code, which
// follows the same operation order.

// Axpy computes y += alpha·x (product rounded to float32, never fused). It panics if len(y) < len(x); only the first
// len(x) elements of y are updated.
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	if !parallel(len(x)) {
		axpy(alpha, x, y)
		return
	}
	Parallel(len(x), splitMin, func(lo, hi int) { axpy(alpha, x[lo:hi], y[lo:hi]) })
}

func axpy(alpha float32, x, y []float32) {
	i := 0
	if vecAsm && len(x) >= 16 {
		i = len(x) &^ 15
		axpyAsm(alpha, x[:i], y[:i])
	}
	for ; i < len(x); i++ {
		y[i] += float32(alpha * x[i])
	}
}

// AddScaled computes dst = y + alpha·x (product rounded to float32, never fused); dst may be x
// or y. It panics if y or dst is shorter than x.
func AddScaled(dst, y []float32, alpha float32, x []float32) {
	y, dst = y[:len(x)], dst[:len(x)]
	if !parallel(len(x)) {
		addScaled(dst, y, alpha, x)
		return
	}
	Parallel(len(x), splitMin, func(lo, hi int) { addScaled(dst[lo:hi], y[lo:hi], alpha, x[lo:hi]) })
}

func addScaled(dst, y []float32, alpha float32, x []float32) {
	i := 0
	if vecAsm && len(x) >= 16 {
		i = len(x) &^ 15
		addScaledAsm(dst[:i], y[:i], alpha, x[:i])
	}
	for ; i < len(x); i++ {
		dst[i] = y[i] + float32(alpha*x[i])
	}
}

// Copy copies x into dst (len(dst) ≥ len(x)), over the worker threads for long vectors.
func Copy(dst, x []float32) {
	dst = dst[:len(x)]
	if !parallel(len(x)) {
		copy(dst, x)
		return
	}
	Parallel(len(x), splitMin, func(lo, hi int) { copy(dst[lo:hi], x[lo:hi]) })
}

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) {
	if parallel(len(x)) { // elementwise: the same bits on any thread count
		Parallel(len(x), splitMin, func(lo, hi int) { scale(alpha, x[lo:hi]) })
		return
	}
	scale(alpha, x)
}

func scale(alpha float32, x []float32) {
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
// differ. The summation order is fixed (it depends only on the length, never
// on the thread count): vectors of 2·32768 elements or more are cut into the
// chunks of ChunkSize(len, 32768), summed on the worker threads and added in
// chunk order; within a chunk (or a shorter vector), sixteen partial sums
// s[i%16] over the first len&^15 elements, combined as
// t[l] = (s[l]+s[4+l]) + (s[8+l]+s[12+l]) for l < 4 and then
// (t[0]+t[2]) + (t[1]+t[3]), then the tail added in order. The products of
// float32 values are exact in float64, so fused and unfused code agree.
func Dot64(x, y []float32) float64 {
	if len(x) != len(y) {
		panic("tensor: Dot64: length mismatch")
	}
	if len(x) >= 2*splitMin {
		return chunked(len(x), func(lo, hi int) float64 { return dot64(x[lo:hi], y[lo:hi]) })
	}
	return dot64(x, y)
}

func dot64(x, y []float32) float64 {
	m := len(x) &^ 15
	var s float64
	if vecAsm && m > 0 {
		s = dot64Asm(x[:m], y[:m])
	} else {
		var p [16]float64
		for i := 0; i < m; i += 16 {
			xs, ys := x[i:i+16:i+16], y[i:i+16:i+16]
			for l := range p {
				p[l] += float64(xs[l]) * float64(ys[l])
			}
		}
		s = combine16(&p)
	}
	for i := m; i < len(x); i++ {
		s += float64(x[i]) * float64(y[i])
	}
	return s
}

// SumSq64 returns Σ x[i]² accumulated in float64, with the same fixed
// summation order as Dot64.
func SumSq64(x []float32) float64 {
	if len(x) >= 2*splitMin {
		return chunked(len(x), func(lo, hi int) float64 { return sumSq64(x[lo:hi]) })
	}
	return sumSq64(x)
}

func sumSq64(x []float32) float64 {
	m := len(x) &^ 15
	var s float64
	if vecAsm && m > 0 {
		s = sumSq64Asm(x[:m])
	} else {
		var p [16]float64
		for i := 0; i < m; i += 16 {
			xs := x[i : i+16 : i+16]
			for l := range p {
				v := float64(xs[l])
				p[l] += v * v
			}
		}
		s = combine16(&p)
	}
	for i := m; i < len(x); i++ {
		v := float64(x[i])
		s += v * v
	}
	return s
}

// combine16 adds sixteen partial sums in the order of the AVX2 reduction.
func combine16(p *[16]float64) float64 {
	var t [4]float64
	for l := range t {
		t[l] = (p[l] + p[4+l]) + (p[8+l] + p[12+l])
	}
	return (t[0] + t[2]) + (t[1] + t[3])
}

// Finite reports whether every element of x is finite (neither NaN nor ±Inf).
func Finite(x []float32) bool {
	if parallel(len(x)) {
		bad := chunked(len(x), func(lo, hi int) float64 {
			if finite(x[lo:hi]) {
				return 0
			}
			return 1
		})
		return bad == 0
	}
	return finite(x)
}

func finite(x []float32) bool {
	i := 0
	if vecAsm && len(x) >= 16 {
		i = len(x) &^ 15
		if !finiteAsm(x[:i]) {
			return false
		}
	}
	var s0, s1, s2, s3 float32 // x·0 is NaN exactly for NaN and ±Inf
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * 0
		s1 += x[i+1] * 0
		s2 += x[i+2] * 0
		s3 += x[i+3] * 0
	}
	for ; i < len(x); i++ {
		s0 += x[i] * 0
	}
	return s0+s1+s2+s3 == 0
}

// AdamCoeffs are the per-step constants of an Adam update (see AdamStep).
type AdamCoeffs struct {
	B1, OneMinusB1 float32 // β1 and 1 − β1
	B2, OneMinusB2 float32 // β2 and 1 − β2
	Sqrt2          float32 // √(1 − β2ᵗ), the second moment's bias correction
	Eps            float32 // ε
	Step           float32 // lr / (1 − β1ᵗ)
}

// AdamStep applies one Adam update to every element of g, in float32 with each operation rounded:
// m = β1·m + (1−β1)·g; v = β2·v + ((1−β2)·g)·g; w −= (Step·m) / (√v/Sqrt2 + ε).
// w, m and v must be at least as long as g.
func AdamStep(w, g, m, v []float32, c AdamCoeffs) {
	w, m, v = w[:len(g)], m[:len(g)], v[:len(g)]
	if !parallel(len(g)) {
		adamStep(w, g, m, v, &c)
		return
	}
	Parallel(len(g), splitMin, func(lo, hi int) { adamStep(w[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], &c) })
}

func adamStep(w, g, m, v []float32, c *AdamCoeffs) {
	i := 0
	if vecAsm && len(g) >= 8 {
		i = len(g) &^ 7
		adamAsm(w[:i], g[:i], m[:i], v[:i], c)
	}
	for ; i < len(g); i++ {
		gi := g[i]
		mi := float32(c.B1*m[i]) + float32(c.OneMinusB1*gi)
		vi := float32(c.B2*v[i]) + float32(float32(c.OneMinusB2*gi)*gi)
		m[i], v[i] = mi, vi
		den := float32(float32(math.Sqrt(float64(vi)))/c.Sqrt2) + c.Eps
		w[i] -= float32(c.Step*mi) / den
	}
}

// AddScaledMul computes dst = y + (alpha·x)·mask, each operation rounded to float32; dst may
// alias the inputs. It panics if y, mask or dst is shorter than x.
func AddScaledMul(dst, y []float32, alpha float32, x, mask []float32) {
	y, mask, dst = y[:len(x)], mask[:len(x)], dst[:len(x)]
	if !parallel(len(x)) {
		addScaledMul(dst, y, alpha, x, mask)
		return
	}
	Parallel(len(x), splitMin, func(lo, hi int) { addScaledMul(dst[lo:hi], y[lo:hi], alpha, x[lo:hi], mask[lo:hi]) })
}

func addScaledMul(dst, y []float32, alpha float32, x, mask []float32) {
	i := 0
	if vecAsm && len(x) >= 16 {
		i = len(x) &^ 15
		addScaledMulAsm(dst[:i], y[:i], alpha, x[:i], mask[:i])
	}
	for ; i < len(x); i++ {
		dst[i] = y[i] + float32(float32(alpha*x[i])*mask[i])
	}
}

// Bernoulli is a fast, seeded stream of Bernoulli masks: eight xorshift64 generators whose
// 16-bit words are compared with a threshold, 32 elements per step of the generators.
// The stream depends only on the seed and on the lengths asked for, not on the CPU.
type Bernoulli struct {
	state [8]uint64
	tm1   uint16  // keep a word u when u ≤ tm1, probability P = (tm1+1)/2¹⁶
	scale float32 // the value of kept elements
}

// NewBernoulli returns a stream that keeps each element with probability p rounded to a
// multiple of 2⁻¹⁶ (see P), giving it the value 1/P; p must be in [2⁻¹⁶, 1).
func NewBernoulli(p float64, seed uint64) *Bernoulli {
	t := math.Round(p * 65536)
	if !(t >= 1 && t <= 65535) {
		panic("tensor: NewBernoulli: p must be in [2⁻¹⁶, 1)")
	}
	b := &Bernoulli{tm1: uint16(t - 1), scale: float32(65536 / t)}
	s := seed ^ 0x9e3779b97f4a7c15
	for i := range b.state {
		// splitmix64: four well-mixed, non-zero lane seeds.
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		b.state[i] = z ^ z>>31 | 1
	}
	return b
}

// State returns the generators' state, from which SetState continues the stream exactly.
func (b *Bernoulli) State() [8]uint64 { return b.state }

// SetState continues the stream from a State.
func (b *Bernoulli) SetState(s [8]uint64) { b.state = s }

// P is the probability of keeping an element: the requested p rounded to a multiple of 2⁻¹⁶.
func (b *Bernoulli) P() float64 { return float64(b.tm1+1) / 65536 }

// Fill writes the next len(dst) elements of the stream: 1/P for a kept element, 0 otherwise.
// A call always consumes whole steps of 32 elements.
func (b *Bernoulli) Fill(dst []float32) {
	i := 0
	if vecAsm && len(dst) >= 32 {
		i = len(dst) &^ 31
		bernoulliAsm(dst[:i], &b.state, b.tm1, b.scale)
	}
	for ; i < len(dst); i += 32 {
		for l := range b.state {
			x := b.state[l]
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			b.state[l] = x
		}
		for k := 0; k < 32 && i+k < len(dst); k++ {
			u := uint16(b.state[k/4] >> (16 * (k % 4)))
			dst[i+k] = 0
			if u <= b.tm1 {
				dst[i+k] = b.scale
			}
		}
	}
}

// MaxPool2 is 2×2 max pooling of one output row: y[j] is the maximum of a = row0[2j],
// b = row0[2j+1], c = row1[2j], d = row1[2j+1], and arg[j] the index of the first of a, b, c, d
// equal to it, counted as i0+2j, i0+2j+1, i1+2j, i1+2j+1 (the positions of the two rows in the
// layer's input). row0 and row1 must hold 2·len(y) elements, arg len(y).
func MaxPool2(y []float32, arg []int32, row0, row1 []float32, i0, i1 int32) {
	row0, row1, arg = row0[:2*len(y)], row1[:2*len(y)], arg[:len(y)]
	j := 0
	if vecAsm && len(y) >= 8 {
		j = len(y) &^ 7
		maxPool2Asm(y[:j], arg[:j], row0, row1, i0, i1)
	}
	for ; j < len(y); j++ {
		// Integer selects compile to conditional moves: pooling inputs are noise to a branch
		// predictor.
		a, b, c, d := row0[2*j], row0[2*j+1], row1[2*j], row1[2*j+1]
		m := max(max(a, b), max(c, d))
		at := i1 + int32(2*j+1)
		if c == m {
			at = i1 + int32(2*j)
		}
		if b == m {
			at = i0 + int32(2*j+1)
		}
		if a == m {
			at = i0 + int32(2*j)
		}
		y[j], arg[j] = m, at
	}
}

// MaxPool2Blocks is MaxPool2 on whole blocks of 8 outputs: len(y) must be a multiple of 8, and
// row0 and row1 must hold 2·len(y) readable elements. Callers whose rows are shorter round
// them up (reading into the next row or padding, writing outputs they overwrite or drop), so
// that no output is computed by the Go tail loop.
func MaxPool2Blocks(y []float32, arg []int32, row0, row1 []float32, i0, i1 int32) {
	if len(y)%8 != 0 {
		panic("tensor: MaxPool2Blocks: length not a multiple of 8")
	}
	MaxPool2(y, arg, row0, row1, i0, i1)
}

// splitMin is the length from which Axpy and the others run an elementwise loop on the worker threads, in
// chunks of at least splitMin elements. Elementwise results do not depend on the chunks (the
// assembly bulk and the Go tails round alike).
const splitMin = 1 << 15

// parallel reports whether an elementwise loop over n elements is worth splitting: n ≥ 2·splitMin
// and several threads. (The callers build their closures only then: short calls, such as
// col2im's rows, must not allocate.)
func parallel(n int) bool { return n >= 2*splitMin && Threads() > 1 }

// chunked sums f over the chunks of ChunkSize(n, splitMin), run on the worker threads, in chunk
// order: the result does not depend on the thread count (the reductions chunk every vector of
// 2·splitMin elements or more, whatever the thread count).
func chunked(n int, f func(lo, hi int) float64) float64 {
	c := ChunkSize(n, splitMin)
	part := make([]float64, (n+c-1)/c)
	Parallel(n, splitMin, func(lo, hi int) { part[lo/c] = f(lo, hi) })
	var s float64
	for _, p := range part {
		s += p
	}
	return s
}
