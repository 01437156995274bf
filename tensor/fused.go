package tensor

// Fused elementwise passes for SAM's ascent steps and GSAM's projection: each does, chunk by
// chunk (a chunk of splitMin elements stays in cache), what two calls of the plain helpers do
// over the whole vector, with the same chunks and so the same bits.

// AscentPass does AddScaled(eps, eps, alpha, g) and AddScaled(dst, w, 1, eps), and returns
// SumSq64(eps): one step of SAM's multi-step ascent, ε ← ε + α·g and w + ε, in one pass.
func AscentPass(dst, w, eps []float32, alpha float32, g []float32) float64 {
	n := len(g)
	dst, w, eps = dst[:n], w[:n], eps[:n]
	body := func(lo, hi int) float64 {
		addScaled(eps[lo:hi], eps[lo:hi], alpha, g[lo:hi])
		addScaled(dst[lo:hi], w[lo:hi], 1, eps[lo:hi])
		return sumSq64(eps[lo:hi])
	}
	if n < 2*splitMin {
		return body(0, n)
	}
	return chunked(n, body)
}

// ScaleAdd does Scale(f, eps) and then AddScaled(dst, w, 1, eps): eps ← f·eps, dst = w + eps.
func ScaleAdd(dst, w, eps []float32, f float32) {
	n := len(eps)
	dst, w = dst[:n], w[:n]
	body := func(lo, hi int) {
		scale(f, eps[lo:hi])
		addScaled(dst[lo:hi], w[lo:hi], 1, eps[lo:hi])
	}
	if parallel(n) {
		Parallel(n, splitMin, body)
		return
	}
	body(0, n)
}

// SumSqDot64 returns SumSq64(b) and Dot64(a, b) from one pass over a and b.
func SumSqDot64(a, b []float32) (sumSq, dot float64) {
	n := len(b)
	a = a[:n]
	if n < 2*splitMin {
		return sumSq64(b), dot64(a, b)
	}
	c := ChunkSize(n, splitMin)
	ss := make([]float64, (n+c-1)/c)
	dd := make([]float64, len(ss))
	Parallel(n, splitMin, func(lo, hi int) {
		ss[lo/c], dd[lo/c] = sumSq64(b[lo:hi]), dot64(a[lo:hi], b[lo:hi])
	})
	for i := range ss {
		sumSq += ss[i]
		dot += dd[i]
	}
	return sumSq, dot
}
