package sharpness

import (
	"slices"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/tensor"
)

// Element-wise work of the Hessian-vector products, split over the worker threads (the GEMMs
// between them already are). Chunks depend only on the lengths, and reductions are summed in
// chunk order, so results do not depend on the thread count.

// elemGrain is the smallest number of elements one goroutine takes.
const elemGrain = 1 << 15

// parDact is dact over chunks.
func parDact(f string, y, dout, din []float32) {
	tensor.Parallel(len(dout), elemGrain, func(lo, hi int) {
		dact(f, y[lo:hi], dout[lo:hi], din[lo:hi])
	})
}

// parRdback is rdback over chunks.
func parRdback(f string, y, dout, rdout, rz, rdin []float32) {
	if f == "relu" {
		parDact(f, y, rdout, rdin)
		return
	}
	tensor.Parallel(len(rdout), elemGrain, func(lo, hi int) {
		rdback(f, y[lo:hi], dout[lo:hi], rdout[lo:hi], rz[lo:hi], rdin[lo:hi])
	})
}

// parAddBias adds b to each of the n rows of y.
func parAddBias(y, b []float32, n int) {
	k := len(b)
	tensor.Parallel(n, max(1, elemGrain/k), func(lo, hi int) {
		addBias(y[lo*k:hi*k], b, hi-lo)
	})
}

// colSums writes into dst the sums of the columns of the n×len(dst) matrix x; part is scratch.
func colSums(dst, x []float32, n int, part *[]float32) {
	rowChunks(dst, n, part, func(lo, hi int, s []float32) {
		k := len(s)
		for r := lo; r < hi; r++ {
			for j, v := range x[r*k : (r+1)*k] {
				s[j] += v
			}
		}
	})
}

// maskColSums is dact("relu", y, dout, din) followed by colSums(dst, din, n, part), in one
// pass (the same sums, in the same order).
func maskColSums(din, dout, y, dst []float32, n int, part *[]float32) {
	rowChunks(dst, n, part, func(lo, hi int, s []float32) {
		k := len(s)
		nn.ReLUMask(din[lo*k:hi*k], dout[lo*k:hi*k], y[lo*k:hi*k])
		for r := lo; r < hi; r++ {
			for j, v := range din[r*k : (r+1)*k] {
				s[j] += v
			}
		}
	})
}

// rowChunks runs f over chunks [lo,hi) of n rows, each with its own zeroed partial row s of
// len(dst), and writes the sum of the partial rows, in chunk order, into dst.
func rowChunks(dst []float32, n int, part *[]float32, f func(lo, hi int, s []float32)) {
	k := len(dst)
	grain := max(1, elemGrain/k)
	cs := tensor.ChunkSize(n, grain)
	chunks := (n + cs - 1) / cs
	*part = slices.Grow((*part)[:0], chunks*k)[:chunks*k]
	p := *part
	tensor.Parallel(n, grain, func(lo, hi int) {
		s := p[lo/cs*k : (lo/cs+1)*k]
		clear(s)
		f(lo, hi, s)
	})
	clear(dst)
	for c := range chunks {
		for j, v := range p[c*k : (c+1)*k] {
			dst[j] += v
		}
	}
}

// parBiasMask writes y_out = (x + b) ⊙ [y > 0] for the n rows of x: a bias add and a ReLU's
// R-forward in one pass (x is left as it is).
func parBiasMask(dst, x, b, y []float32, n int) {
	k := len(b)
	tensor.Parallel(n, max(1, elemGrain/k), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, xr, yr := dst[r*k:(r+1)*k], x[r*k:(r+1)*k], y[r*k:(r+1)*k]
			// (x + 1·b), then the branch-free ReLU mask of nn.ReLUMask, in the vector kernels.
			tensor.AddScaled(d, xr, 1, b)
			tensor.ReLUMask(d, d, yr)
		}
	})
}

// accumulate adds f·src to dst.
func accumulate(dst []float64, src []float32, f float64) {
	tensor.Parallel(len(dst), elemGrain, func(lo, hi int) {
		d := dst[lo:hi]
		for i, g := range src[lo:hi] {
			d[i] += float64(g) * f
		}
	})
}

// toFloat32 rounds src into dst.
func toFloat32(dst []float32, src []float64) {
	tensor.Parallel(len(src), elemGrain, func(lo, hi int) {
		d := dst[lo:hi]
		for i, x := range src[lo:hi] {
			d[i] = float32(x)
		}
	})
}
