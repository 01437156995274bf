// Package tensor holds the float32 compute kernels of the training engine:
// a blocked, packed, multi-threaded GEMM (Gemm), a deterministic parallel-for
// (Parallel) and small vector helpers for optimizers.
//
// Determinism: every kernel gives bit-identical results for any thread count
// (SetThreads). Work is partitioned by problem size only, and every output
// element is reduced in a fixed order.
//
// The GEMM micro-kernel sits behind the package variable microKernel (see
// kernelSpec in gemm.go for the packing format). The portable kernel is pure
// Go; on amd64 an assembly kernel is chosen at start-up from the CPU features
// (AVX-512F 12×32, else AVX2+FMA 6×16; see kernel_amd64.go). The assembly
// kernels fuse multiply-adds, so GEMM results are bit-identical for a given
// machine and kernel (whatever the thread count), but not across kernels:
// they agree within float32 rounding. SAM_NOASM=1 in the environment, or the
// purego build tag, selects the portable kernel; SAM_GEMM_KERNEL=name selects
// any kernel the CPU supports.
//
// The main entry points: Gemm (C = α·op(A)·op(B) + β·C, row-major, BLAS sgemm semantics),
// Parallel and SetThreads, the vector helpers Axpy, AddScaled, Scale, Dot64, SumSq64, Finite
// and AdamStep, Bernoulli (ESAM's seeded masks), MaxPool2, and WinoTransform, the tile
// transforms of the Winograd convolution F(4×4, 3×3) (generated AVX-512 and AVX2 code and a
// portable version, all with the same bits; SAM_WINO_ISA=avx2 picks the AVX2 code on an
// AVX-512 CPU).
//
//	// C (2×2) = A (2×3) · B (3×2)
//	tensor.Gemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2)
package tensor
