package tensor

import "math"

// The elementwise loops of the SAM family's members (package sam), as vector kernels with Go
// loops that give the same bits: every operation is rounded on its own (explicit conversions
// keep the compiler from fusing), sums are float64 in sixteen lanes reduced as combine16.

// GSAMCombine writes gp[i] = x − a·(g[i] − k·x), x = gp[i]: GSAM's direction g_p − α·g_⊥ with
// g_⊥ = g − k·g_p. Long vectors are split over the worker threads (elementwise: the same bits).
func GSAMCombine(gp, g []float32, a, k float32) {
	g = g[:len(gp)]
	if parallel(len(gp)) {
		Parallel(len(gp), splitMin, func(lo, hi int) { gsamCombine(gp[lo:hi], g[lo:hi], a, k) })
		return
	}
	gsamCombine(gp, g, a, k)
}

func gsamCombine(gp, g []float32, a, k float32) {
	j := 0
	if vecAsm && len(gp) >= 16 {
		j = len(gp) &^ 15
		gsamCombineAsm(gp[:j], g[:j], a, k)
	}
	for i := j; i < len(gp); i++ {
		x := gp[i]
		gp[i] = x - float32(a*float32(g[i]-float32(k*x)))
	}
}

// ASAMStep writes ds[i] = bs[i] + ((c·t)·t)·gs[i] with t = |ws[i]| + eta, times mask[i] when
// mask is not nil: ASAM's ε for p = 2. Long vectors are split over the worker threads.
func ASAMStep(ds, bs, ws, gs, mask []float32, c, eta float32) {
	n := len(gs)
	ds, bs, ws = ds[:n], bs[:n], ws[:n]
	if mask != nil {
		mask = mask[:n]
	}
	body := func(lo, hi int) {
		var m []float32
		if mask != nil {
			m = mask[lo:hi]
		}
		asamStep(ds[lo:hi], bs[lo:hi], ws[lo:hi], gs[lo:hi], m, c, eta)
	}
	if parallel(n) {
		Parallel(n, splitMin, body)
		return
	}
	body(0, n)
}

func asamStep(ds, bs, ws, gs, mask []float32, c, eta float32) {
	j := 0
	if vecAsm && mask == nil && len(gs) >= 16 {
		j = len(gs) &^ 15
		asamStepAsm(ds[:j], bs[:j], ws[:j], gs[:j], c, eta)
	}
	for i := j; i < len(gs); i++ {
		t := abs32(ws[i]) + eta
		v := float32(float32(c*t)*t) * gs[i]
		if mask != nil {
			v = float32(v * mask[i])
		}
		ds[i] = bs[i] + v
	}
}

// SumSqScaled64 returns Σ((|w[i]| + eta)·g[i])², each product rounded to float32, accumulated in
// float64 (ASAM's ‖T∘g‖²); long vectors over the worker threads, the chunks' sums added in chunk order.
func SumSqScaled64(w, g []float32, eta float32) float64 {
	w = w[:len(g)]
	if len(g) >= 2*splitMin { // over the threads, chunk sums added in chunk order
		return chunked(len(g), func(lo, hi int) float64 { return sumSqScaled64(w[lo:hi], g[lo:hi], eta) })
	}
	return sumSqScaled64(w, g, eta)
}

func sumSqScaled64(w, g []float32, eta float32) float64 {
	m := len(g) &^ 15
	var s float64
	if vecAsm && m > 0 {
		s = sumSqScaled64Asm(w[:m], g[:m], eta)
	} else if m > 0 {
		var p [16]float64
		for i := 0; i < m; i += 16 {
			ws, gs := w[i:i+16:i+16], g[i:i+16:i+16]
			for l := range p {
				z := float64((abs32(ws[l]) + eta) * gs[l])
				p[l] += z * z
			}
		}
		s = combine16(&p)
	}
	for i := m; i < len(g); i++ {
		z := float64((abs32(w[i]) + eta) * g[i])
		s += z * z
	}
	return s
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
