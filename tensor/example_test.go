package tensor_test

import (
	"fmt"

	"github.com/samgo/sam/tensor"
)

// ExampleGemm multiplies a 2×3 by a 3×2 matrix (row-major, BLAS sgemm semantics): C = A·B.
func ExampleGemm() {
	a := []float32{
		1, 2, 3,
		4, 5, 6,
	}
	b := []float32{
		1, 0,
		0, 1,
		1, 1,
	}
	c := make([]float32, 4)
	tensor.Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
	fmt.Println(c)
	// C = Aᵀ·A (3×3), with A read transposed in place.
	ata := make([]float32, 9)
	tensor.Gemm(true, false, 3, 3, 2, 1, a, 3, a, 3, 0, ata, 3)
	fmt.Println(ata)
	// Output:
	// [4 5 10 11]
	// [17 22 27 22 29 36 27 36 45]
}

// ExampleAxpy shows the vector helpers that the optimizers use: y ← αx + y, dot products and
// squared norms accumulated in float64, and the finite check.
func ExampleAxpy() {
	x := []float32{1, 2, 3}
	y := []float32{1, 1, 1}
	tensor.Axpy(2, x, y)
	fmt.Println(y, tensor.Dot64(x, y), tensor.SumSq64(x), tensor.Finite(y))
	// Output:
	// [3 5 7] 34 14 true
}

// ExampleParallel sums 1..1000 in chunks on the worker threads; the chunks depend only on n
// and the grain, so a reduction in chunk order gives the same bits for any thread count.
func ExampleParallel() {
	const n, grain = 1000, 100
	parts := make([]float64, (n+grain-1)/grain)
	tensor.Parallel(n, grain, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			parts[lo/tensor.ChunkSize(n, grain)] += float64(i + 1)
		}
	})
	var sum float64
	for _, p := range parts {
		sum += p
	}
	fmt.Println(sum)
	// Output:
	// 500500
}
