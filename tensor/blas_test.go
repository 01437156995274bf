package tensor

import (
	"os"
	"testing"
)

// external is the BLAS of a -tags openblas build (nil otherwise). The other tests check the
// project's own kernels, so TestMain takes it out of Gemm's path; TestExternalBLAS puts it back.
var external func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func TestMain(m *testing.M) {
	external = blasGemm // set by gemm_openblas.go's init, which has run by now
	blasGemm, blasName = nil, ""
	os.Exit(m.Run())
}

func TestExternalBLAS(t *testing.T) {
	if external == nil {
		t.Skip("built without -tags openblas")
	}
	blasGemm, blasName = external, "openblas"
	defer func() { blasGemm, blasName = nil, "" }()
	if KernelName() != "openblas" {
		t.Fatalf("KernelName() = %q", KernelName())
	}
	testGemm(t)
}
