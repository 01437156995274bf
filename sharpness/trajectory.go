package sharpness

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Trajectory is the projection of a training path on the plane of its two principal directions
// (Li, Xu, Taylor, Studer, Goldstein, NeurIPS 2018): the directions of largest variance of the
// snapshots' differences from the origin (the final weights).
type Trajectory struct {
	D1, D2    []float32    // orthonormal directions in weight space
	Explained [2]float64   // the fraction of the differences' variance along each
	Coords    [][2]float64 // each snapshot's coordinates (d1·(θ − origin), d2·(θ − origin))
}

// TrajectoryPCA returns the top two principal directions of the differences θᵢ − origin of the
// snapshots (centred, as PCA is in Li et al.'s code) and every snapshot's coordinates on them.
// It needs at least three snapshots that do not all lie on one line through the origin.
func TrajectoryPCA(snaps [][]float32, origin []float32) (Trajectory, error) {
	m := len(snaps)
	if m < 3 {
		return Trajectory{}, fmt.Errorf("sharpness: a trajectory needs ≥ 3 snapshots, got %d", m)
	}
	n := len(origin)
	diff := make([][]float64, m)
	mean := make([]float64, n)
	for i, s := range snaps {
		if len(s) != n {
			return Trajectory{}, fmt.Errorf("sharpness: snapshot %d has %d weights, the origin %d", i, len(s), n)
		}
		diff[i] = make([]float64, n)
		for j, x := range s {
			diff[i][j] = float64(x) - float64(origin[j])
			mean[j] += diff[i][j] / float64(m)
		}
	}
	cent := make([][]float64, m)
	for i := range diff {
		cent[i] = slices.Clone(diff[i])
		for j := range cent[i] {
			cent[i][j] -= mean[j]
		}
	}
	// The Gram matrix of the centred differences (m × m): its top eigenvectors u give the
	// principal directions Cᵀu, normalised.
	g := mat.NewSymDense(m, nil)
	for i := range m {
		for j := i; j < m; j++ {
			g.SetSym(i, j, dot(cent[i], cent[j]))
		}
	}
	var es mat.EigenSym
	if !es.Factorize(g, true) {
		return Trajectory{}, fmt.Errorf("sharpness: eigendecomposition of the snapshots' Gram matrix failed")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	var total float64
	for _, v := range vals {
		total += max(v, 0)
	}
	tr := Trajectory{}
	var dirs [][]float64
	for r := range 2 {
		col := m - 1 - r // ascending eigenvalues
		if vals[col] <= 1e-12*total || total == 0 {
			return Trajectory{}, fmt.Errorf("sharpness: the snapshots span fewer than two directions")
		}
		d := make([]float64, n)
		for i := range m {
			axpy(vecs.At(i, col), cent[i], d)
		}
		scale(d, 1/norm(d))
		if r == 1 { // orthogonal to the first in floating point too
			axpy(-dot(d, dirs[0]), dirs[0], d)
			scale(d, 1/norm(d))
		}
		dirs = append(dirs, d)
		tr.Explained[r] = vals[col] / total
	}
	tr.D1, tr.D2 = make([]float32, n), make([]float32, n)
	for j := range n {
		tr.D1[j], tr.D2[j] = float32(dirs[0][j]), float32(dirs[1][j])
	}
	for i := range m {
		tr.Coords = append(tr.Coords, [2]float64{dot(diff[i], dirs[0]), dot(diff[i], dirs[1])})
	}
	return tr, nil
}

// Project returns the coordinates of θ − origin on the trajectory's plane.
func (t Trajectory) Project(theta, origin []float32) [2]float64 {
	var a, b float64
	for j, x := range theta {
		d := float64(x) - float64(origin[j])
		a += d * float64(t.D1[j])
		b += d * float64(t.D2[j])
	}
	return [2]float64{a, b}
}

// Span returns lo, hi covering the coordinates of every point (both axes alike) with a margin
// of frac of the range on each side.
func Span(pts [][2]float64, frac float64) (lo, hi [2]float64) {
	lo = [2]float64{math.Inf(1), math.Inf(1)}
	hi = [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, p := range pts {
		for k := range 2 {
			lo[k], hi[k] = math.Min(lo[k], p[k]), math.Max(hi[k], p[k])
		}
	}
	for k := range 2 {
		r := hi[k] - lo[k]
		if r == 0 {
			r = 1
		}
		lo[k], hi[k] = lo[k]-frac*r, hi[k]+frac*r
	}
	return lo, hi
}
