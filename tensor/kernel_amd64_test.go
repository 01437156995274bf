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

// TestGemmKernelAVX2 checks the assembly micro-kernels bit for bit against a
// Go model of their arithmetic: per element, one fused multiply-add per k
// step in increasing k order, then float32(alpha·acc) + float32(beta·c). It
// also checks that C is not read when beta == 0 and that nothing outside the
// tile is written.
func TestGemmKernelAVX2(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("CPU without AVX2/FMA")
	}
	testAsmKernel(t, avx2Kernel)
}

func TestGemmKernelAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("CPU without AVX-512F")
	}
	testAsmKernel(t, avx512Kernel)
}

func testAsmKernel(t *testing.T, kern kernelSpec) {
	r := rand.New(rand.NewPCG(5, 6))
	mr, nr := kern.mr, kern.nr
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
				kern.fn(kc, a, b, c, ldc, alpha, beta)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d beta=%g ldc=%d: c[%d] = %g, want %g", kc, beta, ldc, i, c[i], want[i])
					}
				}
			}
		}
	}
}

// TestGemmKernelsAgree compares the assembly kernels with the portable one on
// the benchmark shapes: within float32 rounding, not bit for bit (they round
// differently, see microKernel).
func TestGemmKernelsAgree(t *testing.T) {
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, kern := range kernels()[1:] {
		for _, s := range benchShapes[1:] {
			tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 0}
			a, lda, b, ldb, c, ldc := tc.operands(3)
			c2 := append([]float32(nil), c...)
			microKernel = goKernel
			Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, ldc)
			microKernel = kern
			Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c2, ldc)
			same := 0
			for i := range c {
				d := math.Abs(float64(c[i]) - float64(c2[i]))
				if d > 1e-5*float64(tc.k) {
					t.Fatalf("%s %s: c[%d]: go %g, %s %g", kern.name, s.name, i, c[i], kern.name, c2[i])
				}
				if c[i] == c2[i] {
					same++
				}
			}
			t.Logf("%s %s: %d of %d elements bit-identical to go1x12", kern.name, s.name, same, len(c))
		}
	}
}

func TestGemmKernelAVX512x8(t *testing.T) {
	if !hasAVX512 {
		t.Skip("CPU without AVX-512F")
	}
	testAsmKernel(t, avx512Kernel8)
}

// TestGemmNarrowKernel checks that products on the 8-row variant of the AVX-512 kernel
// (kernelFor) give the same bits as on the 12-row kernel, through Gemm on 1 and 2 threads and
// through PackedA, for row counts where the variant is chosen.
func TestGemmNarrowKernel(t *testing.T) {
	if !hasAVX512 {
		t.Skip("CPU without AVX-512F")
	}
	saved := microKernel
	defer func() { microKernel = saved }()
	defer SetThreads(SetThreads(1))
	wide := avx512Kernel
	wide.narrow = nil
	for _, m := range []int{16, 32, 40, 64} {
		microKernel = avx512Kernel
		if k := kernelFor(m); k.name != avx512Kernel8.name {
			t.Fatalf("kernelFor(%d) = %s, want %s", m, k.name, avx512Kernel8.name)
		}
		for _, s := range []struct {
			transA, transB bool
			n, k           int
		}{{false, false, 784, 144}, {false, true, 200, 300}, {true, false, 70, 600}, {true, true, 33, 9}} {
			tc := gemmCase{transA: s.transA, transB: s.transB, m: m, n: s.n, k: s.k, alpha: 1, beta: 0.5}
			a, lda, b, ldb, c0, ldc := tc.operands(uint64(m))
			for _, th := range []int{1, 2} {
				SetThreads(th)
				got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
				microKernel = avx512Kernel
				Gemm(tc.transA, tc.transB, m, s.n, s.k, 1, a, lda, b, ldb, 0.5, got, ldc)
				var p PackedA
				p.Pack(tc.transA, m, s.k, a, lda)
				gotP := append([]float32(nil), c0...)
				GemmSerialPacked(&p, tc.transB, s.n, 1, b, ldb, 0.5, gotP, ldc)
				microKernel = wide
				Gemm(tc.transA, tc.transB, m, s.n, s.k, 1, a, lda, b, ldb, 0.5, want, ldc)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(gotP[i]) != math.Float32bits(want[i]) {
						t.Fatalf("m=%d %+v threads=%d: element %d: %v (packed %v), 12-row kernel %v", m, s, th, i, got[i], gotP[i], want[i])
					}
				}
			}
		}
	}
}
