package tensor

import (
	"cmp"
	"sync"
	"unsafe"
)

// kernelSpec describes a GEMM micro-kernel and the register tile it computes.
//
// Packing format (what fn receives). For a k-block of kc steps (kc ≥ 1):
//
//   - a holds one packed A micro-panel: mr rows of op(A) × kc columns, stored
//     k-major: a[p*mr+i] = op(A)[i0+i, p0+p] for p < kc, i < mr. Rows past the
//     bottom edge of op(A) are zero. len(a) ≥ kc·mr.
//   - b holds one packed B micro-panel: kc rows of op(B) × nr columns, stored
//     k-major: b[p*nr+j] = op(B)[p0+p, j0+j]. Columns past the right edge of
//     op(B) are zero. len(b) ≥ kc·nr.
//
// Panels are contiguous and consecutive: micro-panel t of a packed block
// starts at t·kc·mr (A) or t·kc·nr (B). Packed buffers are float32-aligned only.
//
// fn must compute, for the full mr×nr tile,
//
//	acc[i][j] = Σ_{p<kc} a[p*mr+i]·b[p*nr+j]
//	c[i*ldc+j] = alpha·acc[i][j] + beta·c[i*ldc+j]   (beta != 0)
//	c[i*ldc+j] = alpha·acc[i][j]                     (beta == 0: c is not read)
//
// It must be deterministic: the same inputs give the same bits on every call
// (any fixed summation order/FMA use is fine). kc is the kernel's preferred
// maximum k-block; the packed B micro-panel of kc·nr floats should stay in
// L1. The driver calls it with
// alpha = 1, beta = 0 and a private mr×nr scratch tile (ldc = nr) for edge
// tiles and then applies alpha/beta itself, and with beta = 1 for every
// k-block after the first. Calls run concurrently on different tiles.
type kernelSpec struct {
	name   string
	mr, nr int
	kc     int // max k-block (0: kcMax)
	// taskRows, taskCols size the compute tasks (rows and columns of C per
	// task, rounded down to whole tiles; 0: the package defaults). They do
	// not influence rounding.
	taskRows, taskCols int
	fn                 func(kc int, a, b, c []float32, ldc int, alpha, beta float32)
	// narrow, when set, is a variant with fewer rows and the same arithmetic per element (so
	// the same bits), used for products whose rows it pads less (kernelFor).
	narrow *kernelSpec
}

// kernelFor returns the micro-kernel for a product with m rows of op(A): microKernel, or its
// narrow variant when that saves padded rows worth at least a sixteenth of m (m = 16, 32 or
// 64 on the 12-row AVX-512 kernel). Both give the same bits.
func kernelFor(m int) kernelSpec {
	k := microKernel
	if n := k.narrow; n != nil {
		pk, pn := ceilDiv(m, k.mr)*k.mr-m, ceilDiv(m, n.mr)*n.mr-m
		if pk > pn && (pk-pn)*16 >= m {
			return *n
		}
	}
	return k
}

// goKernel is the portable micro-kernel, used on every architecture.
var goKernel = kernelSpec{name: "go1x12", mr: goMR, nr: goNR, fn: microKernelGo}

// microKernel is the active GEMM micro-kernel: the amd64 AVX2/FMA assembly
// kernel where the CPU supports it (selected in an init function of
// kernel_amd64.go; SAM_NOASM=1 in the environment or the purego build tag
// keep the portable one), otherwise goKernel. The packing code adapts to its
// mr/nr. Gemm reads it once per call; tests swap it to exercise every kernel.
//
// Results are bit-identical for a given kernel whatever the thread count, but
// kernels round differently (the assembly kernel fuses multiply-adds), so a
// product may differ in the last bits between machines with and without it.
var microKernel = goKernel

// Blocking parameters. kc (the k-block) is derived from k and the kernel
// alone, and is the only blocking parameter that influences rounding: every element of C is
// accumulated k-block by k-block in increasing order whatever the partition of
// C among goroutines, so results do not depend on the thread count.
const (
	kcMax = 512  // default max k-block: the 1×12 B micro-panel (24 KiB) stays in L1
	mcMax = 1024 // max rows of op(A) packed at once (2 MiB at kc=512)
	ncMax = 3072 // max columns of op(B) packed at once (6 MiB at kc=512)

	taskRows = 32 // default rows of C per compute task (rounded to mr)
	taskCols = 48 // default columns of C per compute task (rounded to nr)

	// Problems with fewer multiply-adds than this run on the calling
	// goroutine only: waking helpers would cost more than it saves.
	parallelMinMACs = 1 << 16
	// Problems with at most this many multiply-adds skip packing.
	smallMACs = 512
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices (BLAS
// sgemm semantics). op(A) is m×k (A is m×k, or k×m when transA), op(B) is k×n
// (B is k×n, or n×k when transB); lda, ldb and ldc are row strides and must be
// at least max(1, columns). beta == 0 means C is overwritten (NaNs in C are
// ignored); alpha == 0 or k == 0 means C = beta·C without reading A or B.
// Panics on inconsistent sizes or strides.
//
// Results are bit-identical for every thread count (see SetThreads).
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, false)
}

// GemmSerial is Gemm on the calling goroutine alone, for callers that already run independent
// products in parallel (a convolution's examples). It always uses the project's kernels (never
// the openblas build's BLAS), and gives the same bits as Gemm does with them.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, true)
}

// gemm is Gemm (serial false: the BLAS when set, else the kernels on Threads() goroutines) or
// GemmSerial (serial true: the kernels on the caller alone).
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, serial bool) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if m*n*k <= smallMACs {
		gemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if serial {
		gemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1)
		return
	}
	if blasGemm != nil {
		blasGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if t := Threads(); t > 1 && gemmSplit(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, t) {
		return
	}
	gemmBlocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Threads())
}

// splitMaxDup bounds the operand gemmSplit packs once per thread: at most this many rows of
// op(A) (or columns of op(B)).
const splitMaxDup = 256

// gemmSplit computes a product with one small dimension (at most splitMaxDup rows, or
// columns) as t serial products on slices of C along the other one, one per thread: each
// thread packs its own slice of the large operand and the whole small one, so that nothing a
// thread packs is read by another and the call synchronises once, instead of twice per k-block
// and row block. Each element is computed as in gemmBlocked (the k-blocks depend on k alone)
// and the slices are whole micro-tiles, so the bits are the same. It reports whether it ran.
func gemmSplit(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, t int) bool {
	kern := kernelFor(m)
	if m*n*k < parallelMinMACs || min(m, n) > splitMaxDup {
		return false
	}
	byCols := m <= n // the slices split op(B)'s columns; each thread packs all of op(A)
	tile, size := kern.nr, n
	if !byCols {
		tile, size = kern.mr, m
	}
	tiles := ceilDiv(size, tile)
	if tiles < 2*t {
		return false
	}
	parallelRun(t, 1, t, slotRunner(func(_, lo, hi int) {
		for s := lo; s < hi; s++ {
			i0, i1 := s*tiles/t*tile, min(size, (s+1)*tiles/t*tile)
			if i1 <= i0 {
				continue
			}
			if byCols {
				off := i0 // op(B)'s column i0: a column of B, or a row when transposed
				if transB {
					off = i0 * ldb
				}
				gemmBlocked(transA, transB, m, i1-i0, k, alpha, a, lda, b[off:], ldb, beta, c[i0:], ldc, 1)
				continue
			}
			off := i0 * lda // op(A)'s row i0: a row of A, or a column when transposed
			if transA {
				off = i0
			}
			gemmBlocked(transA, transB, i1-i0, n, k, alpha, a[off:], lda, b, ldb, beta, c[i0*ldc:], ldc, 1)
		}
	}))
	return true
}

// blasGemm, when set (build tag openblas, gemm_openblas.go), computes the products that are
// not small instead of the project's kernels; blasName names it.
var (
	blasGemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	blasName string
)

// KernelName names the GEMM code in use: the micro-kernel ("avx512f12x32", "avx2fma6x16",
// "go1x12"), with its narrow variant when it has one ("avx512f12x32 (avx512f8x32 for 16, 32
// or 64 rows)"), or an external BLAS ("openblas").
func KernelName() string {
	if blasName != "" {
		return blasName
	}
	if n := microKernel.narrow; n != nil {
		return microKernel.name + " (" + n.name + " for 16, 32 or 64 rows)"
	}
	return microKernel.name
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("tensor: Gemm: negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, a, lda)
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
}

func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic("tensor: Gemm: bad stride for " + name)
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic("tensor: Gemm: " + name + " too short")
	}
}

// scaleC sets C = beta·C (beta == 0: C = 0, ignoring NaNs).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// gemmSmall is the unpacked path for tiny products. Each element is a single
// float32 sum in k order, like a one-block kernel call.
func gemmSmall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	as, ap := lda, 1 // op(A)[i,p] = a[i*as + p*ap]
	if transA {
		as, ap = 1, lda
	}
	bp, bs := ldb, 1 // op(B)[p,j] = b[p*bp + j*bs]
	if transB {
		bp, bs = 1, ldb
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var acc float32
			for p := 0; p < k; p++ {
				acc += float32(a[i*as+p*ap] * b[p*bp+j*bs])
			}
			ci := &c[i*ldc+j]
			if beta == 0 {
				*ci = alpha * acc
			} else {
				*ci = float32(alpha*acc) + float32(beta**ci)
			}
		}
	}
}

// workspace holds the packing buffers of one Gemm call.
type workspace struct{ buf []float32 }

var workspacePool = sync.Pool{New: func() any { return new(workspace) }}

// gemmJob is the state of one blocked Gemm call; it is the runner for both
// the packing and the compute phase.
type gemmJob struct {
	kern           kernelSpec
	transA, transB bool
	a, b, c        []float32
	lda, ldb, ldc  int
	alpha          float32

	// current block: rows [ic, ic+mb), cols [jc, jc+nb), k [pc, pc+kb)
	ic, mb, jc, nb, pc, kb int
	beta                   float32 // beta for this k-block

	bufA, bufB, scratch []float32

	panA, panB   int // micro-panels in the block
	rowG, colG   int // panels per task (rows, columns)
	nColG        int // column groups per block
	packAItems   int // pack items for A (the rest are for B)
	packBItems   int
	computePhase bool
}

var gemmJobPool = sync.Pool{New: func() any { return new(gemmJob) }}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// kBlock returns the k-block length for a given k and maximum block kcm: k
// is split into ⌈k/kcm⌉ nearly equal blocks, rounded up to a multiple of 8
// (the kernels' unroll factor). Depends only on k and kcm.
func kBlock(k, kcm int) int {
	nb := ceilDiv(k, kcm)
	kc := ceilDiv(k, nb)
	kc = (kc + 7) &^ 7
	return min(kc, k)
}

func gemmBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, nthreads int) {
	kern := kernelFor(m)
	mr, nr := kern.mr, kern.nr
	kcm := kern.kc
	if kcm <= 0 {
		kcm = kcMax
	}
	kc := kBlock(k, kcm)
	mcb := min(m, max(mr, mcMax/mr*mr))
	ncb := min(n, max(nr, ncMax/nr*nr))

	rowG := max(1, cmp.Or(kern.taskRows, taskRows)/mr)
	colG := max(1, cmp.Or(kern.taskCols, taskCols)/nr)
	if m*n*k < parallelMinMACs || ceilDiv(mcb, rowG*mr)*ceilDiv(ncb, colG*nr) < 2 {
		// Too little work, or a single compute task per block (e.g. a
		// narrow product with a large tile).
		nthreads = 1
	}

	// Sizes are rounded up to whole 64-byte cache lines and the buffer is
	// aligned to one, so that the vector loads of a B micro-panel row never
	// straddle two lines when nr·4 is a multiple of 64.
	const lineF = 16 // float32s per cache line
	sizeA := (ceilDiv(mcb, mr)*mr*kc + lineF - 1) &^ (lineF - 1)
	sizeB := (ceilDiv(ncb, nr)*nr*kc + lineF - 1) &^ (lineF - 1)
	sizeS := nthreads * mr * nr
	ws := workspacePool.Get().(*workspace)
	if need := sizeA + sizeB + sizeS + lineF; cap(ws.buf) < need {
		ws.buf = make([]float32, need)
	}
	buf := ws.buf[:cap(ws.buf)]
	if off := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 63); off != 0 {
		buf = buf[(64-off)/4:]
	}

	g := gemmJobPool.Get().(*gemmJob)
	*g = gemmJob{
		kern: kern, transA: transA, transB: transB,
		a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc, alpha: alpha,
		bufA:    buf[:sizeA:sizeA],
		bufB:    buf[sizeA : sizeA+sizeB : sizeA+sizeB],
		scratch: buf[sizeA+sizeB : sizeA+sizeB+sizeS : sizeA+sizeB+sizeS],
		rowG:    rowG,
		colG:    colG,
	}

	for jc := 0; jc < n; jc += ncb {
		nb := min(ncb, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			blkBeta := beta
			if pc > 0 {
				blkBeta = 1
			}
			for ic := 0; ic < m; ic += mcb {
				mb := min(mcb, m-ic)
				g.ic, g.mb, g.jc, g.nb, g.pc, g.kb, g.beta = ic, mb, jc, nb, pc, kb, blkBeta
				g.panA, g.panB = ceilDiv(mb, mr), ceilDiv(nb, nr)
				g.nColG = ceilDiv(g.panB, g.colG)

				// Pack op(A) rows (and op(B) once per k-block).
				g.computePhase = false
				g.packAItems = ceilDiv(g.panA, g.rowG)
				g.packBItems = 0
				if ic == 0 {
					g.packBItems = ceilDiv(g.panB, g.colG)
				}
				parallelRun(g.packAItems+g.packBItems, 1, nthreads, g)

				// Multiply.
				g.computePhase = true
				parallelRun(ceilDiv(g.panA, g.rowG)*g.nColG, 1, nthreads, g)
			}
		}
	}

	*g = gemmJob{}
	gemmJobPool.Put(g)
	workspacePool.Put(ws)
}

func (g *gemmJob) run(slot, lo, hi int) {
	for t := lo; t < hi; t++ {
		switch {
		case g.computePhase:
			g.compute(slot, t)
		case t < g.packAItems:
			g.packAGroup(t)
		default:
			g.packBGroup(t - g.packAItems)
		}
	}
}

// packAGroup packs A micro-panels [t·rowG, (t+1)·rowG) of the current block.
func (g *gemmJob) packAGroup(t int) {
	mr, kb := g.kern.mr, g.kb
	p0 := t * g.rowG
	p1 := min(p0+g.rowG, g.panA)
	r0 := p0 * mr          // first packed row (relative to ic)
	r1 := min(p1*mr, g.mb) // end of valid rows
	dst := g.bufA[p0*mr*kb : p1*mr*kb]
	// Rows [r0, rf) form whole panels that the fast paths pack (pack.go).
	rf := r0
	if hasPackA(mr) {
		rf = r0 + (r1-r0)/mr*mr
	}
	if !g.transA {
		// op(A)[i, p] = a[i*lda + p]: each row is contiguous.
		for r := r0; r < rf; r += mr {
			packA(dst[(r-r0)*kb:(r-r0+mr)*kb], g.a[(g.ic+r)*g.lda+g.pc:], g.lda, kb, mr)
		}
		for r := rf; r < r1; r++ {
			src := g.a[(g.ic+r)*g.lda+g.pc:][:kb]
			ip, ii := (r-r0)/mr, (r-r0)%mr
			if mr == 1 {
				copy(dst[ip*kb:ip*kb+kb], src)
				continue
			}
			d := dst[ip*kb*mr+ii:]
			for p, v := range src {
				d[p*mr] = v
			}
		}
	} else {
		// op(A)[i, p] = a[p*lda + i]: rows of A give kb-slices of a column.
		if rf > r0 {
			packAT(dst[:(rf-r0)*kb], g.a[g.pc*g.lda+g.ic+r0:], g.lda, kb, (rf-r0)/mr, mr)
		}
		if n := r1 - rf; n > 0 {
			for p := 0; p < kb; p++ {
				src := g.a[(g.pc+p)*g.lda+g.ic+rf:][:n]
				if mr == 1 {
					for r, v := range src {
						dst[(rf-r0+r)*kb+p] = v
					}
					continue
				}
				for r, v := range src {
					rr := rf - r0 + r
					dst[((rr/mr)*kb+p)*mr+rr%mr] = v
				}
			}
		}
	}
	// Zero padding rows of the last micro-panel.
	if pad := p1*mr - r1; pad > 0 {
		last := dst[(p1-1-p0)*mr*kb:]
		for p := 0; p < kb; p++ {
			clear(last[p*mr+mr-pad : p*mr+mr])
		}
	}
}

// packBGroup packs B micro-panels [t·colG, (t+1)·colG) of the current block.
func (g *gemmJob) packBGroup(t int) {
	nr, kb := g.kern.nr, g.kb
	p0 := t * g.colG
	p1 := min(p0+g.colG, g.panB)
	for jp := p0; jp < p1; jp++ {
		dst := g.bufB[jp*nr*kb : (jp+1)*nr*kb]
		j0 := g.jc + jp*nr
		nv := min(nr, g.jc+g.nb-j0)
		if !g.transB {
			// op(B)[p, j] = b[p*ldb + j]: rows are contiguous.
			if nv == nr && hasPackB(nr) {
				packB(dst, g.b[g.pc*g.ldb+j0:], g.ldb, kb, nr)
				continue
			}
			for p := 0; p < kb; p++ {
				src := g.b[(g.pc+p)*g.ldb+j0:][:nv]
				d := dst[p*nr : p*nr+nr]
				copy(d, src)
				clear(d[nv:])
			}
		} else {
			// op(B)[p, j] = b[j*ldb + p]: column j of op(B) is contiguous.
			if nv == nr && hasPackB(nr) {
				packBT(dst, g.b[j0*g.ldb+g.pc:], g.ldb, kb, nr)
				continue
			}
			for jj := 0; jj < nv; jj++ {
				src := g.b[(j0+jj)*g.ldb+g.pc:][:kb]
				for p, v := range src {
					dst[p*nr+jj] = v
				}
			}
			if nv < nr {
				for p := 0; p < kb; p++ {
					clear(dst[p*nr+nv : p*nr+nr])
				}
			}
		}
	}
}

// compute runs compute task t: A panel group t/nColG × B panel group t%nColG.
func (g *gemmJob) compute(slot, t int) {
	mr, nr, kb := g.kern.mr, g.kern.nr, g.kb
	fn := g.kern.fn
	ra0 := (t / g.nColG) * g.rowG
	ra1 := min(ra0+g.rowG, g.panA)
	cb0 := (t % g.nColG) * g.colG
	cb1 := min(cb0+g.colG, g.panB)
	alpha, beta, ldc := g.alpha, g.beta, g.ldc
	tmp := g.scratch[slot*mr*nr : (slot+1)*mr*nr]
	for jp := cb0; jp < cb1; jp++ {
		bp := g.bufB[jp*nr*kb : (jp+1)*nr*kb]
		j := g.jc + jp*nr
		nv := min(nr, g.jc+g.nb-j)
		for ip := ra0; ip < ra1; ip++ {
			ap := g.bufA[ip*mr*kb : (ip+1)*mr*kb]
			i := g.ic + ip*mr
			mv := min(mr, g.ic+g.mb-i)
			if mv == mr && nv == nr {
				fn(kb, ap, bp, g.c[i*ldc+j:], ldc, alpha, beta)
				continue
			}
			// Edge tile: full tile into scratch, then merge the valid part
			// with the same formula the kernel uses.
			fn(kb, ap, bp, tmp, nr, 1, 0)
			for ii := 0; ii < mv; ii++ {
				crow := g.c[(i+ii)*ldc+j:][:nv]
				trow := tmp[ii*nr:][:nv]
				if beta == 0 {
					for jj, v := range trow {
						crow[jj] = alpha * v
					}
				} else {
					for jj, v := range trow {
						crow[jj] = float32(alpha*v) + float32(beta*crow[jj])
					}
				}
			}
		}
	}
}
