//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMemberKernelsMatchGo: GSAMCombine, ASAMStep and SumSqScaled64 give the same bits with the
// AVX2 loops as with their Go loops (which package sam used before), on lengths around the
// 16-element block and long enough to be split over threads.
func TestMemberKernelsMatchGo(t *testing.T) {
	if !vecAsm {
		t.Skip("no AVX2/FMA on this CPU (or SAM_NOASM set): only the Go loops run")
	}
	defer SetThreads(SetThreads(3))
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 15, 16, 17, 100, 2*splitMin + 3} {
		f := func() []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			return x
		}
		gp, g, w, b, mask := f(), f(), f(), f(), f()
		run := func() (a, c, d []float32, s float64) {
			a = append([]float32(nil), gp...)
			GSAMCombine(a, g, 0.1, 0.87)
			c, d = make([]float32, n), make([]float32, n)
			ASAMStep(c, b, w, g, nil, 0.03, 0.01)
			ASAMStep(d, b, w, g, mask, 0.03, 0.01)
			return a, c, d, SumSqScaled64(w, g, 0.01)
		}
		a1, c1, d1, s1 := run()
		vecAsm = false
		a0, c0, d0, s0 := run()
		vecAsm = true
		if s1 != s0 {
			t.Fatalf("n=%d: SumSqScaled64 %v, Go %v", n, s1, s0)
		}
		for i := 0; i < n; i++ {
			for _, p := range [][2]float32{{a1[i], a0[i]}, {c1[i], c0[i]}, {d1[i], d0[i]}} {
				if math.Float32bits(p[0]) != math.Float32bits(p[1]) {
					t.Fatalf("n=%d element %d: %v, Go %v", n, i, p[0], p[1])
				}
			}
		}
		// The Go loops are the formulas of package sam's old loops.
		for i := 0; i < n; i++ {
			x := gp[i]
			if want := x - 0.1*(g[i]-0.87*x); math.Float32bits(a0[i]) != math.Float32bits(want) {
				t.Fatalf("GSAMCombine %d: %v, want %v", i, a0[i], want)
			}
			tt := abs32(w[i]) + 0.01
			if want := b[i] + 0.03*tt*tt*g[i]; math.Float32bits(c0[i]) != math.Float32bits(want) {
				t.Fatalf("ASAMStep %d: %v, want %v", i, c0[i], want)
			}
			if want := b[i] + 0.03*tt*tt*g[i]*mask[i]; math.Float32bits(d0[i]) != math.Float32bits(want) {
				t.Fatalf("ASAMStep with mask %d: %v, want %v", i, d0[i], want)
			}
		}
	}
}
