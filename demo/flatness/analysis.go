package flatness

import (
	"errors"
	"math"
)

// Grid is a uniform grid W[i] = Lo + i·H of the parameter w with a function's values on it.
type Grid struct {
	Lo, H float64
	W, F  []float64
}

// tabulate evaluates f on n+1 points spanning [lo, hi].
func tabulate(f func(float64) float64, lo, hi float64, n int) Grid {
	return tabulateSteps(f, lo, (hi-lo)/float64(n), 0, n)
}

// tabulateSteps evaluates f at lo + k·h for k = from..to, so that grids with the same lo and h
// share their points exactly.
func tabulateSteps(f func(float64) float64, lo, h float64, from, to int) Grid {
	n := to - from + 1
	g := Grid{Lo: lo + float64(from)*h, H: h, W: make([]float64, n), F: make([]float64, n)}
	for i := range g.W {
		g.W[i] = lo + float64(from+i)*h
		g.F[i] = f(g.W[i])
	}
	return g
}

// localMinima returns the indices i with F[i−1] > F[i] ≤ F[i+1] (interior points only).
func (g Grid) localMinima() []int {
	var m []int
	for i := 1; i+1 < len(g.F); i++ {
		if g.F[i-1] > g.F[i] && g.F[i] <= g.F[i+1] {
			m = append(m, i)
		}
	}
	return m
}

// golden minimises f on [a, b] by golden-section search to a tolerance far below the plot's
// resolution; f is assumed unimodal there (a bracket of three grid points around a grid minimum).
func golden(f func(float64) float64, a, b float64) float64 {
	const r = 0.6180339887498949
	c, d := b-r*(b-a), a+r*(b-a)
	fc, fd := f(c), f(d)
	for range 60 {
		if fc <= fd {
			b, d, fd = d, c, fc
			c = b - r*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + r*(b-a)
			fd = f(d)
		}
	}
	return (a + b) / 2
}

// errNoMinimum is returned when an empirical loss has no local minimum on one side of the ridge.
var errNoMinimum = errors.New("flatness: an empirical loss has no minimum on one side of the ridge; the problem's wells are too shallow for this sample")

// Minima locates the sharp and the flat minimum of a loss tabulated on g: the lowest local
// minimum left of ridge and the lowest one right of it, refined by golden-section search.
func Minima(f func(float64) float64, g Grid, ridge float64) (sharp, flat float64, err error) {
	best := [2]int{-1, -1}
	for _, i := range g.localMinima() {
		side := 0
		if g.W[i] > ridge {
			side = 1
		}
		if best[side] < 0 || g.F[i] < g.F[best[side]] {
			best[side] = i
		}
	}
	if best[0] < 0 || best[1] < 0 {
		return math.NaN(), math.NaN(), errNoMinimum
	}
	refine := func(i int) float64 { return golden(f, g.W[i-1], g.W[i+1]) }
	return refine(best[0]), refine(best[1]), nil
}

// Ridge returns the highest point of a tabulated loss between a and b (a < b): the boundary
// between the sharp and the flat basin.
func Ridge(g Grid, a, b float64) float64 {
	best := math.NaN()
	top := math.Inf(-1)
	for i, w := range g.W {
		if w > a && w < b && g.F[i] > top {
			top, best = g.F[i], w
		}
	}
	return best
}

// SAMIncrease returns the exact sharpness max_{|ε|≤ρ} L(w+ε) − L(w) at w, by dense search over
// 2·steps+1 evenly spaced ε in [−ρ, ρ] (ε = 0 included, so it is never negative).
func SAMIncrease(f func(float64) float64, w, rho float64, steps int) float64 {
	l0 := f(w)
	best := 0.0
	for k := -steps; k <= steps; k++ {
		if k == 0 {
			continue
		}
		best = max(best, f(w+rho*float64(k)/float64(steps))-l0)
	}
	return best
}

// ExactSAM returns L^SAM(w) = max_{|ε|≤ρ} L(w+ε) at the grid points of g whose whole window
// [w−ρ, w+ρ] lies on the grid (a sliding maximum over r = round(ρ/H) neighbours each side), as a
// grid over [g.W[r], g.W[len−1−r]]. ρ = 0 returns g itself.
func ExactSAM(g Grid, rho float64) Grid {
	r := int(math.Round(rho / g.H))
	n := len(g.W) - 2*r
	out := Grid{Lo: g.W[r], H: g.H, W: make([]float64, n), F: make([]float64, n)}
	// Monotonic deque of indices with decreasing F: O(len) for any ρ.
	dq := make([]int, 0, 2*r+1)
	for j := range g.W {
		for len(dq) > 0 && g.F[dq[len(dq)-1]] <= g.F[j] {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, j)
		i := j - r // the centre whose window [i−r, i+r] is complete
		if i < r {
			continue
		}
		for dq[0] < i-r {
			dq = dq[1:]
		}
		out.W[i-r] = g.W[i]
		out.F[i-r] = g.F[dq[0]]
	}
	return out
}

// FirstOrderSAM returns SAM's first-order approximation L(w + ρ·sign(L'(w))) at the points of g
// (p = 2 in one dimension: ε = ρ·g/|g|; ε = 0 where L'(w) = 0).
func FirstOrderSAM(grad func(float64) (float64, float64), g Grid, rho float64) Grid {
	out := Grid{Lo: g.Lo, H: g.H, W: append([]float64(nil), g.W...), F: make([]float64, len(g.W))}
	for i, w := range g.W {
		_, d := grad(w)
		e := 0.0
		switch {
		case d > 0:
			e = rho
		case d < 0:
			e = -rho
		}
		out.F[i], _ = grad(w + e)
	}
	return out
}
