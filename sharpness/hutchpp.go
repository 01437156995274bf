package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// HutchPP estimates tr(a) with Hutch++ (Meyer, Musco, Musco, Woodruff, SOSA 2021) in exactly
// products operator products (at least 3): k = ⌊products/3⌋ products sketch the top of the
// spectrum (Q, an orthonormal basis of a·S for k seeded Rademacher vectors S), k more give the
// exact trace of a on that subspace, tr(Qᵀa Q), and the remaining ones estimate the trace of the
// rest by Hutchinson on Rademacher vectors projected off Q, (I−QQᵀ)g. The standard error is
// that of the Hutchinson part given Q (the only random part once Q is fixed). On matrices whose
// spectrum is dominated by a few large eigenvalues, as a trained network's Hessian is, the error
// falls as 1/products instead of Hutchinson's 1/√products.
func HutchPP(a Operator, products int, seed uint64) (TraceEstimate, error) {
	if products < 3 {
		return TraceEstimate{}, fmt.Errorf("sharpness: Hutch++ needs ≥ 3 products, got %d", products)
	}
	n := a.Dim()
	k := products / 3
	rng := rand.New(rand.NewPCG(seed, 0x4a7c))
	rademacher := func(v []float64) {
		for i := range v {
			v[i] = float64(2*int(rng.Uint32()&1) - 1)
		}
	}
	// Q: orthonormalised a·S (Gram-Schmidt twice; dependent columns are dropped).
	s := make([]float64, n)
	var q [][]float64
	for range k {
		rademacher(s)
		y := make([]float64, n)
		a.Mul(y, s)
		y0 := norm(y)
		for range 2 {
			for _, b := range q {
				axpy(-dot(y, b), b, y)
			}
		}
		if ny := norm(y); ny > 1e-10*y0 && ny > 0 {
			scale(y, 1/ny)
			q = append(q, y)
		}
	}
	// tr(Qᵀ a Q): one product per basis vector. Unused sketch products go to the Hutchinson part.
	var top float64
	aq := make([]float64, n)
	for _, b := range q {
		a.Mul(aq, b)
		top += dot(b, aq)
	}
	rest := products - k - len(q)
	g := make([]float64, n)
	ag := make([]float64, n)
	var sum, sumSq float64
	for range rest {
		rademacher(g)
		for _, b := range q {
			axpy(-dot(g, b), b, g)
		}
		a.Mul(ag, g)
		x := dot(g, ag)
		sum += x
		sumSq += x * x
	}
	est := TraceEstimate{Trace: top, Samples: products}
	if rest > 0 {
		r := float64(rest)
		mean := sum / r
		est.Trace += mean
		if rest > 1 {
			est.StdErr = math.Sqrt(math.Max(sumSq/r-mean*mean, 0) * r / (r - 1) / r)
		}
	}
	return est, nil
}
