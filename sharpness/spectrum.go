package sharpness

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/samgo/sam/tensor"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// LanczosOptions tune TopEigen.
type LanczosOptions struct {
	MaxIter int // most Lanczos steps (products); 0 means 100, at most n
	// Tol: stop when every wanted Ritz pair has residual ≤ Tol·|θ₁|; 0 means 1e-3. The residual
	// r bounds the distance from θ to an eigenvalue (see TopEigen).
	Tol     float64
	Seed    uint64 // the starting vector
	Vectors bool   // also return the Ritz vectors (unit eigenvector estimates)
}

// Eigen is the result of TopEigen.
type Eigen struct {
	Values     []float64 // the k largest eigenvalues, in decreasing order
	Residuals  []float64 // ‖Hy − θy‖ of each Ritz pair (an error bound for θ)
	Iterations int       // Lanczos steps (Hessian-vector products)
	Converged  bool
	Vectors    [][]float64 // with LanczosOptions.Vectors: the k Ritz vectors, unit norm
}

// TopEigen estimates the k algebraically largest eigenvalues of the symmetric operator a by the
// Lanczos method with full reorthogonalisation in float64, started from a seeded Gaussian vector.
// Ritz values are exact bounds from below for λ_max and converge quickly to well separated
// eigenvalues (the outliers at the top of a neural network's Hessian).
//
// The stopping rule is on the residuals r = ‖Hy − θy‖ of the wanted Ritz pairs: each has an
// eigenvalue within r of θ. A rule on the values' estimate r²/δ (Kato–Temple, δ the gap to the
// next Ritz value) would stop the 784-256-256-10 MLP of BenchmarkLambdaMax after 23 products
// instead of 34, but on clustered spectra it stops after 4 steps with errors 30 times Tol (the
// gap is not known before the cluster is resolved); TestLanczosStopRule checks the rule on such
// spectra.
func TopEigen(a Operator, k int, opt LanczosOptions) (Eigen, error) {
	n := a.Dim()
	if k <= 0 || k > n {
		return Eigen{}, fmt.Errorf("sharpness: want 1 ≤ k ≤ %d eigenvalues, got %d", n, k)
	}
	maxIter := opt.MaxIter
	if maxIter <= 0 {
		maxIter = max(100, 2*k)
	}
	maxIter = min(maxIter, n)
	tol := opt.Tol
	if tol <= 0 {
		tol = 1e-3
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x1a2c05))
	q := make([]float64, n)
	for i := range q {
		q[i] = rng.NormFloat64()
	}
	scale(q, 1/norm(q))
	var basis [][]float64
	var alpha, beta []float64
	w := make([]float64, n)
	var orth orthScratch
	res := Eigen{}
	for j := 0; j < maxIter; j++ {
		basis = append(basis, q)
		a.Mul(w, q)
		al := dot(w, q)
		alpha = append(alpha, al)
		// The three-term recurrence, then full reorthogonalisation against rounding.
		axpy(-al, q, w)
		if j > 0 {
			axpy(-beta[j-1], basis[j-1], w)
		}
		reorthogonalise(w, basis, &orth)
		be := norm(w)
		theta, resid := ritz(alpha, beta, be)
		res.Iterations = j + 1
		res.Values, res.Residuals = theta, resid
		if be <= 1e-12*math.Max(math.Abs(theta[0]), 1e-300) { // invariant subspace: exact
			res.Converged = true
			break
		}
		if len(theta) >= k && converged(resid, theta[0], k, tol) {
			res.Converged = true
			break
		}
		if be == 0 {
			break
		}
		beta = append(beta, be)
		q = make([]float64, n)
		for i := range w {
			q[i] = w[i] / be
		}
	}
	if len(res.Values) < k {
		return res, fmt.Errorf("sharpness: Lanczos found only %d of %d eigenvalues (invariant subspace)", len(res.Values), k)
	}
	res.Values, res.Residuals = res.Values[:k], res.Residuals[:k]
	if opt.Vectors {
		vals, vecs := tridiagEigen(alpha, beta)
		idx := make([]int, len(vals))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return -cmpFloat(vals[a], vals[b]) })
		for _, i := range idx[:k] {
			y := make([]float64, n)
			for j, q := range basis {
				axpy(vecs.At(j, i), q, y)
			}
			scale(y, 1/norm(y))
			res.Vectors = append(res.Vectors, y)
		}
	}
	return res, nil
}

// converged reports whether the top k Ritz pairs have residuals ≤ tol·|θ₁|.
func converged(resid []float64, theta0 float64, k int, tol float64) bool {
	for _, r := range resid[:k] {
		if r > tol*math.Max(math.Abs(theta0), 1e-30) {
			return false
		}
	}
	return true
}

// orthScratch holds the per-chunk partial dot products of reorthogonalise.
type orthScratch struct{ part, coef []float64 }

// orthGrain is the smallest chunk of a vector that reorthogonalise gives one goroutine.
const orthGrain = 1 << 14

// reorthogonalise removes from w its components along the orthonormal basis by classical
// Gram–Schmidt: one pass, and a second where the first removed more than 1 − 1/√2 of w's norm
// (the criterion of Daniel, Gragg, Kaufman and Stewart 1976, as ARPACK's dsaitr; "twice is
// enough"). After the three-term recurrence the first pass removes only rounding, so the second
// is rarely needed. Each pass is split over the worker threads by chunks of the vector; chunks
// depend only on len(w) and partial dot products are summed in chunk order, so the result does
// not depend on the thread count.
func reorthogonalise(w []float64, basis [][]float64, s *orthScratch) {
	n, m := len(w), len(basis)
	cs := tensor.ChunkSize(n, orthGrain)
	chunks := (n + cs - 1) / cs
	s.part = slices.Grow(s.part[:0], chunks*m)[:chunks*m]
	s.coef = slices.Grow(s.coef[:0], m)[:m]
	for pass := 0; pass < 2; pass++ {
		before := norm(w)
		tensor.Parallel(n, orthGrain, func(lo, hi int) {
			p := s.part[lo/cs*m : (lo/cs+1)*m]
			for j, b := range basis {
				p[j] = floats.Dot(w[lo:hi], b[lo:hi])
			}
		})
		clear(s.coef)
		for c := range chunks {
			for j, x := range s.part[c*m : (c+1)*m] {
				s.coef[j] += x
			}
		}
		tensor.Parallel(n, orthGrain, func(lo, hi int) {
			for j, b := range basis {
				floats.AddScaled(w[lo:hi], -s.coef[j], b[lo:hi])
			}
		})
		if norm(w) >= before/math.Sqrt2 {
			return
		}
	}
}

// ritz returns the eigenvalues of the tridiagonal matrix (alpha, beta) in decreasing order and
// the residual norms |βₘ·sₘ| of the corresponding Ritz pairs, where βₘ = next.
func ritz(alpha, beta []float64, next float64) ([]float64, []float64) {
	vals, vecs := tridiagEigen(alpha, beta)
	m := len(alpha)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return -cmpFloat(vals[a], vals[b]) })
	theta := make([]float64, m)
	resid := make([]float64, m)
	for r, i := range idx {
		theta[r] = vals[i]
		resid[r] = math.Abs(next * vecs.At(m-1, i))
	}
	return theta, resid
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// tridiagEigen returns the eigenvalues (ascending) and eigenvectors (columns) of the symmetric
// tridiagonal matrix with diagonal alpha and off-diagonal beta.
func tridiagEigen(alpha, beta []float64) ([]float64, *mat.Dense) {
	m := len(alpha)
	t := mat.NewSymDense(m, nil)
	for i := range m {
		t.SetSym(i, i, alpha[i])
		if i+1 < m {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(t, true) {
		panic("sharpness: tridiagonal eigendecomposition failed")
	}
	var v mat.Dense
	es.VectorsTo(&v)
	return es.Values(nil), &v
}

// TraceEstimate is Hutchinson's estimate of tr(H).
type TraceEstimate struct {
	Trace   float64 // the mean of vᵀHv over the samples
	StdErr  float64 // its standard error
	Samples int
}

// Trace estimates tr(a) with Hutchinson's estimator E[vᵀav] over samples seeded Rademacher
// vectors v (entries ±1).
func Trace(a Operator, samples int, seed uint64) (TraceEstimate, error) {
	if samples <= 0 {
		return TraceEstimate{}, fmt.Errorf("sharpness: want ≥ 1 trace samples, got %d", samples)
	}
	n := a.Dim()
	rng := rand.New(rand.NewPCG(seed, 0x7ace))
	v := make([]float64, n)
	hv := make([]float64, n)
	var sum, sumSq float64
	for range samples {
		for i := range v {
			v[i] = float64(2*int(rng.Uint32()&1) - 1)
		}
		a.Mul(hv, v)
		x := dot(v, hv)
		sum += x
		sumSq += x * x
	}
	s := float64(samples)
	mean := sum / s
	est := TraceEstimate{Trace: mean, Samples: samples}
	if samples > 1 {
		est.StdErr = math.Sqrt(math.Max(sumSq/s-mean*mean, 0) * s / (s - 1) / s)
	}
	return est, nil
}

// Density is a stochastic Lanczos quadrature estimate of the eigenvalue density (spectral
// measure normalised to 1): Nodes are Ritz values and Weights their quadrature weights, summed
// over the probe vectors and divided by their number.
type Density struct {
	Nodes, Weights []float64
}

// SpectralDensity runs probes Lanczos processes of steps steps from seeded Rademacher vectors
// (Ghorbani, Krishnan, Xiao 2019) and returns the quadrature nodes and weights.
func SpectralDensity(a Operator, steps, probes int, seed uint64) (Density, error) {
	if steps <= 0 || probes <= 0 {
		return Density{}, fmt.Errorf("sharpness: density needs steps and probes ≥ 1, got %d and %d", steps, probes)
	}
	n := a.Dim()
	steps = min(steps, n)
	rng := rand.New(rand.NewPCG(seed, 0xd3))
	var d Density
	w := make([]float64, n)
	for range probes {
		q := make([]float64, n)
		for i := range q {
			q[i] = float64(2*int(rng.Uint32()&1)-1) / math.Sqrt(float64(n))
		}
		var basis [][]float64
		var alpha, beta []float64
		for j := 0; j < steps; j++ {
			basis = append(basis, q)
			a.Mul(w, q)
			alpha = append(alpha, dot(w, q))
			for range 2 {
				for _, b := range basis {
					axpy(-dot(w, b), b, w)
				}
			}
			be := norm(w)
			if j == steps-1 || be <= 1e-12 {
				break
			}
			beta = append(beta, be)
			q = make([]float64, n)
			for i := range w {
				q[i] = w[i] / be
			}
		}
		vals, vecs := tridiagEigen(alpha, beta)
		for i, v := range vals {
			s := vecs.At(0, i)
			d.Nodes = append(d.Nodes, v)
			d.Weights = append(d.Weights, s*s/float64(probes))
		}
	}
	return d, nil
}

// Smooth evaluates the density with Gaussian kernels of width sigma at the points x.
func (d Density) Smooth(x []float64, sigma float64) []float64 {
	out := make([]float64, len(x))
	c := 1 / (sigma * math.Sqrt(2*math.Pi))
	for i, xi := range x {
		for j, nd := range d.Nodes {
			z := (xi - nd) / sigma
			out[i] += d.Weights[j] * c * math.Exp(-z*z/2)
		}
	}
	return out
}

func dot(x, y []float64) float64 { return floats.Dot(x, y) }

func norm(x []float64) float64 { return math.Sqrt(dot(x, x)) }

func scale(x []float64, a float64) {
	for i := range x {
		x[i] *= a
	}
}

// axpy is y += a·x.
func axpy(a float64, x, y []float64) { floats.AddScaled(y, a, x) }
