package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is the float64 reference. It returns the expected C and an error
// bound per element (relative ~1e-5·k of the magnitude of the terms).
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, bound []float64) {
	want = make([]float64, len(c))
	bound = make([]float64, len(c))
	for i := range c {
		want[i] = float64(c[i]) // untouched outside the m×n window
	}
	opA := func(i, p int) float64 {
		if transA {
			return float64(a[p*lda+i])
		}
		return float64(a[i*lda+p])
	}
	opB := func(p, j int) float64 {
		if transB {
			return float64(b[j*ldb+p])
		}
		return float64(b[p*ldb+j])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k && alpha != 0; p++ {
				t := opA(i, p) * opB(p, j)
				s += t
				sa += math.Abs(t)
			}
			v := float64(alpha) * s
			mag := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				v += float64(beta) * cv
				mag += math.Abs(float64(beta) * cv)
			}
			want[i*ldc+j] = v
			bound[i*ldc+j] = 1e-5*float64(k+2)*mag + 1e-30
		}
	}
	return want, bound
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra row stride
	padC           int
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/%dx%dx%d/a%g/b%g/pad%d,%d,%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

// operands builds A, B, C (C NaN-filled when beta == 0) for a case.
func (tc gemmCase) operands(seed uint64) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	r := rand.New(rand.NewPCG(seed, 7))
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc = max(1, ac+tc.padA), max(1, bc+tc.padB), max(1, tc.n+tc.padC)
	a = randSlice(r, ar*lda)
	b = randSlice(r, br*ldb)
	c = randSlice(r, tc.m*ldc)
	if tc.beta == 0 {
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c[i*ldc+j] = float32(math.NaN())
			}
		}
	}
	return
}

func (tc gemmCase) check(t *testing.T, seed uint64) {
	t.Helper()
	a, lda, b, ldb, c, ldc := tc.operands(seed)
	want, bound := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	bad := 0
	for i := range c {
		got := float64(c[i])
		if math.IsNaN(got) || math.Abs(got-want[i]) > bound[i] {
			if bad < 5 {
				t.Errorf("%v: c[%d,%d] = %g, want %g (±%g)", tc, i/ldc, i%ldc, got, want[i], bound[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%v: %d bad elements", tc, bad)
	}
}

// testShapes covers degenerate sizes, sizes around the 1×12, 6×16 and 12×32
// tiles
// and the 8-step unroll, several k-blocks (k > kcMax), and several row/column blocks
// (m > mcMax, n > ncMax).
var testShapes = [][3]int{
	{1, 1, 1}, {1, 1, 0}, {3, 5, 0}, {0, 4, 3}, {4, 0, 3},
	{1, 12, 1}, {1, 13, 7}, {2, 11, 8}, {5, 7, 9}, {7, 5, 3},
	{13, 25, 17}, {16, 24, 16}, {31, 37, 41}, {8, 1, 100},
	{1, 100, 8}, {33, 47, 513}, {64, 64, 64}, {67, 131, 600},
	{100, 10, 256}, {129, 12, 33}, {1030, 5, 3}, {2, 3100, 3},
	{1, 1, 2000}, {6, 16, 1}, {7, 17, 4}, {12, 32, 257}, {5, 15, 6},
	{6, 33, 600}, {12, 32, 5}, {13, 33, 260}, {25, 65, 9}, {11, 31, 8},
}

// forEachKernel runs f once per micro-kernel this CPU supports (the portable
// one and, on amd64 with AVX2/FMA, the assembly one), with microKernel set to
// it.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, kern := range kernels() {
		microKernel = kern
		t.Run(kern.name, f)
	}
}

func TestGemm(t *testing.T) { forEachKernel(t, testGemm) }

func testGemm(t *testing.T) {
	seed := uint64(1)
	for _, sh := range testShapes {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0.3}, {2, 0}} {
					for _, pad := range [][3]int{{0, 0, 0}, {3, 1, 2}} {
						tc := gemmCase{tA, tB, sh[0], sh[1], sh[2], ab[0], ab[1], pad[0], pad[1], pad[2]}
						seed++
						tc.check(t, seed)
					}
				}
			}
		}
	}
}

func TestGemmKernelsSelected(t *testing.T) {
	ks := kernels()
	if ks[0].name != goKernel.name {
		t.Fatalf("kernels()[0] = %s, want the portable kernel", ks[0].name)
	}
	t.Logf("active kernel %s; available %d", microKernel.name, len(ks))
}

func TestGemmAlphaZero(t *testing.T) {
	for _, beta := range []float32{0, 1, 0.5} {
		tc := gemmCase{false, true, 9, 14, 20, 0, beta, 1, 0, 3}
		a, lda, b, ldb, c, ldc := tc.operands(99)
		for i := range a {
			a[i] = float32(math.NaN()) // must not be read
		}
		want, _ := refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 0, a, lda, b, ldb, beta, c, ldc)
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 0, a, lda, b, ldb, beta, c, ldc)
		for i := range c {
			if float64(c[i]) != want[i] {
				t.Fatalf("beta=%g: c[%d] = %g, want %g", beta, i, c[i], want[i])
			}
		}
	}
}

// TestGemmLeavesOutsideAlone checks that elements beyond n in each C row
// (ldc > n) and elements of A/B beyond the window are neither read into the
// result nor written.
func TestGemmLeavesOutsideAlone(t *testing.T) {
	tc := gemmCase{true, false, 13, 29, 19, 1.5, 0, 4, 5, 7}
	a, lda, b, ldb, c, ldc := tc.operands(5)
	for i := 0; i < tc.m; i++ {
		for j := tc.n; j < ldc; j++ {
			c[i*ldc+j] = 42
		}
	}
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	for i := 0; i < tc.m; i++ {
		for j := tc.n; j < ldc; j++ {
			if c[i*ldc+j] != 42 {
				t.Fatalf("c[%d,%d] overwritten", i, j)
			}
		}
	}
	tc.check(t, 5)
}

// refKernel returns a straightforward micro-kernel for an mr×nr tile, used to
// exercise the packing and edge logic with tile shapes other than 1×12 (as a
// future assembly kernel would use).
func refKernel(mr, nr int) kernelSpec {
	return kernelSpec{name: fmt.Sprintf("ref%dx%d", mr, nr), mr: mr, nr: nr,
		fn: func(kc int, a, b, c []float32, ldc int, alpha, beta float32) {
			_ = a[kc*mr-1]
			_ = b[kc*nr-1]
			for i := 0; i < mr; i++ {
				for j := 0; j < nr; j++ {
					var acc float32
					for p := 0; p < kc; p++ {
						acc += float32(a[p*mr+i] * b[p*nr+j])
					}
					if beta == 0 {
						c[i*ldc+j] = alpha * acc
					} else {
						c[i*ldc+j] = float32(alpha*acc) + float32(beta*c[i*ldc+j])
					}
				}
			}
		}}
}

func TestGemmOtherKernelShapes(t *testing.T) {
	saved := microKernel
	defer func() { microKernel = saved }()
	for _, kern := range []kernelSpec{refKernel(3, 5), refKernel(4, 4), refKernel(6, 16), refKernel(12, 32), refKernel(1, 1)} {
		microKernel = kern
		seed := uint64(1000)
		for _, sh := range [][3]int{{1, 1, 1}, {5, 7, 9}, {13, 25, 17}, {31, 37, 41}, {33, 47, 513}, {40, 3, 20}} {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {-0.5, 0.3}} {
						tc := gemmCase{tA, tB, sh[0], sh[1], sh[2], ab[0], ab[1], 2, 1, 3}
						seed++
						tc.check(t, seed)
					}
				}
			}
		}
	}
}

// TestGemmKernelGo checks the Go micro-kernel directly against refKernel on
// full tiles, for k around the unroll factor, including bit equality (both sum
// in k order).
func TestGemmKernelGo(t *testing.T) {
	ref := refKernel(goMR, goNR)
	r := rand.New(rand.NewPCG(3, 4))
	for _, kc := range []int{1, 2, 7, 8, 9, 15, 16, 17, 63, 512} {
		a := randSlice(r, kc*goMR)
		b := randSlice(r, kc*goNR)
		for _, beta := range []float32{0, 1, -0.25} {
			c0 := randSlice(r, goMR*goNR)
			c1 := append([]float32(nil), c0...)
			microKernelGo(kc, a, b, c0, goNR, 0.75, beta)
			ref.fn(kc, a, b, c1, goNR, 0.75, beta)
			for i := range c0 {
				if c0[i] != c1[i] {
					t.Fatalf("kc=%d beta=%g: c[%d] = %g, ref %g", kc, beta, i, c0[i], c1[i])
				}
			}
		}
	}
}

// TestGemmDeterministic checks, for every kernel, that results are
// bit-identical for any thread count.
func TestGemmDeterministic(t *testing.T) { forEachKernel(t, testGemmDeterministic) }

func testGemmDeterministic(t *testing.T) {
	defer SetThreads(SetThreads(1))
	cases := []gemmCase{
		{false, true, 128, 256, 784, 1, 0, 0, 0, 0},
		{true, false, 256, 97, 128, 1, 0, 0, 0, 0},
		{false, false, 128, 784, 256, -1, 0.5, 0, 0, 0},
		{true, true, 67, 131, 600, 0.5, 1, 3, 0, 1},
		{false, false, 1100, 20, 40, 1, 0, 0, 0, 0},
	}
	if !testing.Short() {
		// Several row, column and k blocks of the assembly kernel.
		cases = append(cases, gemmCase{false, false, 300, 3200, 700, 1, 0, 0, 0, 0})
	}
	for _, tc := range cases {
		a, lda, b, ldb, c0, ldc := tc.operands(11)
		var first []float32
		for _, th := range []int{1, 2, 3, 7} {
			SetThreads(th)
			c := append([]float32(nil), c0...)
			Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			if first == nil {
				first = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%v: threads=%d differs from threads=1 at %d: %g vs %g", tc, th, i, c[i], first[i])
				}
			}
		}
	}
}

// TestGemmConcurrent runs several Gemm calls at once (as independent callers
// would) and checks each against the single-threaded result.
func TestGemmConcurrent(t *testing.T) {
	defer SetThreads(SetThreads(3))
	tc := gemmCase{false, true, 70, 90, 300, 1, 0, 0, 0, 0}
	a, lda, b, ldb, c0, ldc := tc.operands(21)
	want := append([]float32(nil), c0...)
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	done := make(chan []float32)
	for range 4 {
		go func() {
			c := append([]float32(nil), c0...)
			Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			done <- c
		}()
	}
	for range 4 {
		c := <-done
		for i := range c {
			if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
				t.Fatalf("concurrent result differs at %d", i)
			}
		}
	}
}

func TestGemmPanics(t *testing.T) {
	a := make([]float32, 12)
	b := make([]float32, 12)
	c := make([]float32, 12)
	big := make([]float32, 100)
	bad := map[string]func(){
		"neg m":       func() { Gemm(false, false, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2) },
		"lda small":   func() { Gemm(false, false, 2, 2, 3, 1, a, 2, b, 2, 0, c, 2) },
		"ldb small T": func() { Gemm(false, true, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) },
		"ldc small":   func() { Gemm(false, false, 2, 3, 2, 1, a, 2, b, 3, 0, c, 2) },
		"A short":     func() { Gemm(false, false, 5, 2, 3, 1, a, 3, b, 2, 0, c, 2) },
		"B short":     func() { Gemm(false, false, 2, 2, 7, 1, big, 7, b, 2, 0, c, 2) },
		"C short":     func() { Gemm(false, false, 2, 7, 1, 1, a, 1, b, 7, 0, c, 7) },
		"lda zero":    func() { Gemm(false, false, 0, 2, 0, 1, a, 0, b, 2, 0, c, 2) },
	}
	for name, f := range bad {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	// Valid empty problems with nil slices do not panic.
	Gemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	Gemm(true, true, 0, 3, 4, 1, nil, 1, make([]float32, 12), 4, 0, nil, 3)
}

func TestGemmAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	defer SetThreads(SetThreads(2))
	tc := gemmCase{false, true, 64, 100, 200, 1, 0, 0, 0, 0}
	a, lda, b, ldb, c, ldc := tc.operands(1)
	Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	allocs := testing.AllocsPerRun(50, func() {
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	})
	// Steady state is allocation-free; a helper that is not parked yet is
	// replaced by a fresh goroutine (one small allocation).
	if allocs > 1 {
		t.Errorf("Gemm allocates %.1f times per call", allocs)
	}
}

// TestGemmExactSequential pins down the rounding of the portable kernel: for
// k ≤ kcMax (one k-block) every element is the plain float32 sum over p in
// order of float32(a·b), then float32(alpha·acc) + float32(beta·c) — on both
// the packed path and the small path, for any GOAMD64 level.
func TestGemmExactSequential(t *testing.T) {
	saved := microKernel
	defer func() { microKernel = saved }()
	microKernel = goKernel
	defer SetThreads(SetThreads(2))
	for i, sh := range [][3]int{{1, 1, 1}, {3, 5, 7}, {8, 8, 8}, {13, 25, 17}, {40, 30, 512}, {5, 130, 100}} {
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				tc := gemmCase{tA, tB, sh[0], sh[1], sh[2], 0.75, -1.25, 1, 2, 1}
				a, lda, b, ldb, c, ldc := tc.operands(uint64(i))
				want := append([]float32(nil), c...)
				for i := 0; i < tc.m; i++ {
					for j := 0; j < tc.n; j++ {
						var acc float32
						for p := 0; p < tc.k; p++ {
							var av, bv float32
							if tA {
								av = a[p*lda+i]
							} else {
								av = a[i*lda+p]
							}
							if tB {
								bv = b[j*ldb+p]
							} else {
								bv = b[p*ldb+j]
							}
							acc += float32(av * bv)
						}
						want[i*ldc+j] = float32(tc.alpha*acc) + float32(tc.beta*want[i*ldc+j])
					}
				}
				Gemm(tA, tB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%v: c[%d] = %g, want exactly %g", tc, i, c[i], want[i])
					}
				}
			}
		}
	}
}
