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

// TestGemmSerialPanels: products with B given as panels give GemmSerialPacked's bits (B packed
// by the GEMM itself), with a partial last panel, beta 0 and 1, and the narrow kernel's rows.
func TestGemmSerialPanels(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, sh := range [][3]int{{64, 64, 70}, {16, 36, 5}, {37, 200, 33}, {12, 9, 64}} {
		m, k, n := sh[0], sh[1], sh[2]
		nr, kmax := PanelWidth(m)
		if k > kmax {
			t.Fatalf("k %d beyond one k-block %d", k, kmax)
		}
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		var p PackedA
		p.Pack(false, m, k, a, k)
		panels := make([]float32, ceilDiv(n, nr)*nr*k)
		for j := 0; j < n; j++ {
			for q := 0; q < k; q++ {
				panels[j/nr*k*nr+q*nr+j%nr] = b[q*n+j]
			}
		}
		for _, beta := range []float32{0, 1} {
			c0 := randSlice(rng, m*n)
			want, got := append([]float32(nil), c0...), append([]float32(nil), c0...)
			GemmSerialPacked(&p, false, n, 1, b, n, beta, want, n)
			GemmSerialPanels(&p, panels, n, beta, got, n)
			for i := range want {
				if m*n*k > smallMACs && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v beta %g: element %d = %g, GemmSerialPacked %g", sh, beta, i, got[i], want[i])
				}
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%v beta %g: element %d = %g, want %g", sh, beta, i, got[i], want[i])
				}
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v: too few panel floats did not panic", sh)
				}
			}()
			GemmSerialPanels(&p, panels[:len(panels)-1], n, 0, make([]float32, m*n), n)
		}()
	}
}
