package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTrajectoryPCA: snapshots on a known plane through the origin (plus a little noise off it)
// give back that plane: the directions are orthonormal, lie in it, explain nearly all the
// variance, and the coordinates reproduce the points.
func TestTrajectoryPCA(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, m = 300, 12
	u, v := randUnit(rng, n), randUnit(rng, n)
	axpy(-dot(u, v), u, v)
	scale(v, 1/norm(v))
	origin := make([]float32, n)
	for i := range origin {
		origin[i] = float32(rng.NormFloat64())
	}
	var snaps [][]float32
	var want [][2]float64
	for i := range m {
		s := float64(m-1-i) / float64(m-1)
		a, b := 3*s, 1.5*math.Sin(4*s) // a curved path ending at the origin
		want = append(want, [2]float64{a, b})
		w := make([]float32, n)
		for j := range w {
			w[j] = origin[j] + float32(a*u[j]+b*v[j]+1e-4*rng.NormFloat64())
		}
		snaps = append(snaps, w)
	}
	tr, err := TrajectoryPCA(snaps, origin)
	if err != nil {
		t.Fatal(err)
	}
	d1, d2 := make([]float64, n), make([]float64, n)
	for j := range n {
		d1[j], d2[j] = float64(tr.D1[j]), float64(tr.D2[j])
	}
	if math.Abs(norm(d1)-1) > 1e-5 || math.Abs(norm(d2)-1) > 1e-5 || math.Abs(dot(d1, d2)) > 1e-5 {
		t.Errorf("directions not orthonormal: |d1| %g |d2| %g d1·d2 %g", norm(d1), norm(d2), dot(d1, d2))
	}
	for _, d := range [][]float64{d1, d2} {
		in := math.Hypot(dot(d, u), dot(d, v))
		if in < 1-1e-4 {
			t.Errorf("a direction lies only %.5f in the plane", in)
		}
	}
	if e := tr.Explained[0] + tr.Explained[1]; e < 0.999 {
		t.Errorf("explained %v", tr.Explained)
	}
	// Coordinates: the points up to a rotation or reflection of the plane, so compare distances.
	for i := range m {
		for j := range m {
			dg := math.Hypot(tr.Coords[i][0]-tr.Coords[j][0], tr.Coords[i][1]-tr.Coords[j][1])
			dw := math.Hypot(want[i][0]-want[j][0], want[i][1]-want[j][1])
			if math.Abs(dg-dw) > 1e-3 {
				t.Fatalf("distance %d–%d: %g on the plane, %g true", i, j, dg, dw)
			}
		}
	}
	if c := tr.Coords[m-1]; math.Hypot(c[0], c[1]) > 1e-3 {
		t.Errorf("the final snapshot projects to %v, want the origin", c)
	}
	if p := tr.Project(snaps[3], origin); math.Abs(p[0]-tr.Coords[3][0]) > 1e-5 {
		t.Errorf("Project %v, Coords %v", p, tr.Coords[3])
	}
	if _, err := TrajectoryPCA(snaps[:2], origin); err == nil {
		t.Error("2 snapshots accepted")
	}
	line := [][]float32{origin, snaps[0], snaps[0]}
	if _, err := TrajectoryPCA(line, origin); err == nil {
		t.Error("snapshots on a line accepted")
	}
}
