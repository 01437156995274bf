//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBatchNormKernelsMatchGo: the AVX2 loops of the batch-normalisation helpers give the same
// bits as their Go loops, on lengths around the 16-element block.
func TestBatchNormKernelsMatchGo(t *testing.T) {
	if !vecAsm {
		t.Skip("no AVX2/FMA on this CPU (or SAM_NOASM set): only the Go loops run")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 15, 16, 17, 48, 49, 784, 1001} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*3 + 1)
			y[i] = float32(rng.NormFloat64())
		}
		type out struct {
			a, b   float64
			c, d   float64
			xh, yv []float32
			dx     []float32
			ry, rx []float32
		}
		run := func() out {
			var o out
			o.a, o.b = Moments64(x)
			o.c, o.d = SumDot64(x, y)
			o.xh, o.yv, o.dx = make([]float32, n), make([]float32, n), make([]float32, n)
			BatchNormApply(o.yv, o.xh, x, 0.7, 1.3, -0.9, 0.2, false)
			o.ry, o.rx = make([]float32, n), make([]float32, n)
			BatchNormApply(o.ry, nil, x, 0.7, 1.3, -0.9, 0.2, true)
			BatchNormApply(nil, o.rx, x, 0.7, 1.3, -0.9, 0.2, true)
			BatchNormGrad(o.dx, y, o.xh, 0.45, -0.1, 0.3)
			return o
		}
		asm := run()
		vecAsm = false
		gol := run()
		vecAsm = true
		if asm.a != gol.a || asm.b != gol.b || asm.c != gol.c || asm.d != gol.d {
			t.Fatalf("n=%d: sums %v %v %v %v, Go %v %v %v %v", n, asm.a, asm.b, asm.c, asm.d, gol.a, gol.b, gol.c, gol.d)
		}
		for i := 0; i < n; i++ {
			for _, p := range [][2]float32{{asm.xh[i], gol.xh[i]}, {asm.yv[i], gol.yv[i]}, {asm.dx[i], gol.dx[i]}, {asm.ry[i], gol.ry[i]}, {asm.rx[i], gol.rx[i]}, {asm.rx[i], asm.xh[i]}, {asm.ry[i], max(asm.yv[i], 0)}} {
				if math.Float32bits(p[0]) != math.Float32bits(p[1]) {
					t.Fatalf("n=%d element %d: %v, Go %v", n, i, p[0], p[1])
				}
			}
		}
	}
}

// TestSumsMatchGo: Dot64's and SumSq64's AVX2 loops give the Go loops' bits (the sixteen lanes
// reduced in combine16's order, the REDUCE4PD macro).
func TestSumsMatchGo(t *testing.T) {
	if !vecAsm {
		t.Skip("no AVX2/FMA on this CPU (or SAM_NOASM set): only the Go loops run")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{16, 48, 1000, 70000} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()*1e3), float32(rng.NormFloat64())
		}
		a1, b1 := sumSq64(x), dot64(x, y)
		vecAsm = false
		a0, b0 := sumSq64(x), dot64(x, y)
		vecAsm = true
		if a1 != a0 || b1 != b0 {
			t.Fatalf("n=%d: %v %v, Go %v %v", n, a1, b1, a0, b0)
		}
	}
}
