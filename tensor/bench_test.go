package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the shapes benchmarked by BenchmarkGemm: the big square
// ones and the MLP (batch 128, 784-256-256-10) forward/backward products.
// Weights are [out,in], so forward is Y = X·Wᵀ (NT), dW = dYᵀ·X (TN) and
// dX = dY·W (NN).
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"1024x1024x1024", false, false, 1024, 1024, 1024},
	{"256x256x256", false, false, 256, 256, 256},
	{"fwd1_128x256x784_NT", false, true, 128, 256, 784},
	{"fwd2_128x256x256_NT", false, true, 128, 256, 256},
	{"fwd3_128x10x256_NT", false, true, 128, 10, 256},
	{"dW1_256x784x128_TN", true, false, 256, 784, 128},
	{"dW2_256x256x128_TN", true, false, 256, 256, 128},
	{"dX2_128x256x256_NN", false, false, 128, 256, 256},
	{"dX3_128x256x10_NN", false, false, 128, 256, 10},
}

// BenchmarkGemm measures every micro-kernel this CPU supports side by side
// (sub-benchmarks KERNEL/tTHREADS/SHAPE), e.g.
//
//	go test -run XXX -bench Gemm -count 3 ./tensor/
func BenchmarkGemm(b *testing.B) {
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, kern := range kernels() {
		for _, th := range []int{1, 2} {
			for _, s := range benchShapes {
				b.Run(fmt.Sprintf("%s/t%d/%s", kern.name, th, s.name), func(b *testing.B) {
					microKernel = kern
					defer SetThreads(SetThreads(th))
					tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 0}
					a, lda, bb, ldb, c, ldc := tc.operands(1)
					for b.Loop() {
						Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
					}
					b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// naiveGemm is the textbook i-p-j loop (row-major, no packing, no blocking).
func naiveGemm(m, n, k int, a, b, c []float32) {
	for i := 0; i < m; i++ {
		crow := c[i*n : i*n+n]
		clear(crow)
		for p := 0; p < k; p++ {
			av := a[i*k+p]
			brow := b[p*n : p*n+n]
			for j, bv := range brow {
				crow[j] += av * bv
			}
		}
	}
}

func BenchmarkGemmNaive(b *testing.B) {
	for _, sz := range []int{128, 256} {
		b.Run(fmt.Sprintf("%dx%dx%d", sz, sz, sz), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			a, bb, c := randSlice(r, sz*sz), randSlice(r, sz*sz), make([]float32, sz*sz)
			for b.Loop() {
				naiveGemm(sz, sz, sz, a, bb, c)
			}
			b.ReportMetric(2*float64(sz*sz*sz)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
