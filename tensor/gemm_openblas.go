//go:build openblas && cgo

package tensor

import "github.com/samgo/sam/tensor/internal/openblas"

// With the build tag openblas (and cgo), products above the small-product threshold go to
// OpenBLAS's cblas_sgemm (Debian: apt-get install libopenblas-dev). The default build never
// uses cgo. OpenBLAS runs with its own threads, which compete with the engine's workers: set
// OPENBLAS_NUM_THREADS=1 (measured here: 231 SAM steps/s for the MNIST MLP with it, 12 without).
// It does not promise bit-identical results across thread counts; the project's kernels do.
func init() {
	blasGemm = openblas.Sgemm
	blasName = "openblas"
}
