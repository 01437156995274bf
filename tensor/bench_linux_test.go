//go:build linux

package tensor

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGemmCPU is BenchmarkGemm with one thread, reporting GFLOP per
// second of the benchmark thread's CPU time (cpuGFLOP/s): unlike wall-clock
// GFLOP/s it does not count time the thread waits for a core, so it stays
// meaningful on a machine that other jobs keep busy.
//
//	go test -run XXX -bench GemmCPU -count 3 ./tensor/
func BenchmarkGemmCPU(b *testing.B) {
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, kern := range kernels() {
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("%s/%s", kern.name, s.name), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				microKernel = kern
				defer SetThreads(SetThreads(1))
				tc := gemmCase{transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, alpha: 1, beta: 0}
				a, lda, bb, ldb, c, ldc := tc.operands(1)
				t0 := threadCPU()
				for b.Loop() {
					Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/(threadCPU()-t0).Seconds()/1e9, "cpuGFLOP/s")
			})
		}
	}
}
