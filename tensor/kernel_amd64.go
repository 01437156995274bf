//go:build amd64 && !purego

package tensor

import (
	"os"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The amd64 assembly micro-kernel (kernel_amd64.s) computes a 6×16 tile of C
// with AVX2 and FMA3: 12 YMM accumulators (two per row), the 16-float row of
// the packed B micro-panel in two YMM registers and one broadcast A element
// at a time, i.e. 12 VFMADD231PS per k step, unrolled 4 times. Each C element
// is accumulated in increasing k order with one fused multiply-add per step,
// so results are deterministic, but round differently from the portable
// kernel (which rounds every product).
//
// The k-block is 256: the packed B micro-panel (256×16 floats, 16 KiB) stays
// in the L1 cache while the A micro-panels of a task stream past it.
const (
	avx2MR = 6
	avx2NR = 16
	avx2KC = 256
)

var avx2Kernel = kernelSpec{name: "avx2fma6x16", mr: avx2MR, nr: avx2NR, kc: avx2KC, fn: microKernelAVX2}

// hasAVX2FMA reports whether the CPU and OS support the assembly kernel.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func init() {
	if hasAVX2FMA && os.Getenv("SAM_NOASM") == "" {
		microKernel = avx2Kernel
	}
}

// kernels returns every micro-kernel this CPU can run, the portable one
// first (for tests and benchmarks).
func kernels() []kernelSpec {
	if hasAVX2FMA {
		return []kernelSpec{goKernel, avx2Kernel}
	}
	return []kernelSpec{goKernel}
}

// microKernelAVX2 checks the bounds the assembly kernel relies on and runs it.
// See kernelSpec for the contract.
func microKernelAVX2(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
	if kc <= 0 {
		kc = 0
	} else {
		_ = a[kc*avx2MR-1]
		_ = b[kc*avx2NR-1]
	}
	_ = c[(avx2MR-1)*ldc+avx2NR-1]
	sgemmKernel6x16(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, beta)
}

// sgemmKernel6x16 is implemented in kernel_amd64.s.
//
//go:noescape
func sgemmKernel6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)
