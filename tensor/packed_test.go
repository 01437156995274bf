package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmSerialPacked compares products with a packed A against Gemm, bit for bit, for every
// kernel, both transpositions, several k-blocks, edge tiles, tiny products and beta 0, 1 and
// other values.
func TestGemmSerialPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	for _, kern := range kernels() {
		old := microKernel
		microKernel = kern
		for _, s := range [][3]int{{64, 196, 288}, {13, 37, 1100}, {1, 1, 1}, {3, 5, 7}, {25, 33, 9}, {288, 50, 64}} {
			m, n, k := s[0], s[1], s[2]
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for _, beta := range []float32{0, 1, 0.5} {
						a, b := fill(m*k), fill(k*n)
						lda, ldb := k, n
						if ta {
							lda = m
						}
						if tb {
							ldb = k
						}
						c0 := fill(m * n)
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						Gemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, want, n)
						var p PackedA
						p.Pack(ta, m, k, a, lda)
						GemmSerialPacked(&p, tb, n, 1.5, b, ldb, beta, got, n)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s %v transA=%v transB=%v beta=%v: element %d %v, Gemm %v", kern.name, s, ta, tb, beta, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
		microKernel = old
	}
}
