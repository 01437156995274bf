// Package tensor holds the float32 compute kernels of the training engine:
// a blocked, packed, multi-threaded GEMM (Gemm), a deterministic parallel-for
// (Parallel) and small vector helpers for optimizers.
//
// Determinism: every kernel gives bit-identical results for any thread count
// (SetThreads). Work is partitioned by problem size only, and every output
// element is reduced in a fixed order.
//
// The code is pure Go. The GEMM micro-kernel sits behind the package variable
// microKernel (see kernelSpec in gemm.go for the packing format) so that an
// assembly kernel can be plugged in for CPUs that support it.
package tensor
