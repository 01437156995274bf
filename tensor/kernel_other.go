//go:build !amd64 || purego

package tensor

// kernels returns every micro-kernel this build can run: only the portable
// one (no assembly kernel for this architecture, or the purego build tag).
func kernels() []kernelSpec { return []kernelSpec{goKernel} }
