package tensor

import (
	"fmt"
	"unsafe"
)

// PackedA is op(A) of a product packed once for the micro-kernel, for callers that multiply the
// same matrix by many others (a convolution's weights by every example's columns). Products
// with it give the same bits as Gemm with the unpacked matrix.
type PackedA struct {
	kern    kernelSpec
	m, k    int
	transA  bool
	a       []float32 // op(A)'s matrix, for products too small to pack: a copy in own
	own     []float32
	lda     int
	kc      int
	buf     []float32
	offsets []int // start of each k-block's panels in buf
}

// Pack packs op(A) (m×k; A is m×k, or k×m when transA, row stride lda) into p, reusing its
// buffers. p keeps no reference to a: it may change or be freed once Pack returns.
func (p *PackedA) Pack(transA bool, m, k int, a []float32, lda int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, a, lda)
	kern := kernelFor(m)
	kcm := kern.kc
	if kcm <= 0 {
		kcm = kcMax
	}
	p.kern, p.m, p.k, p.kc = kern, m, k, kBlock(max(k, 1), kcm)
	p.transA, p.a, p.lda = transA, nil, lda
	if m*k <= smallMACs { // products small enough to skip packing read A itself: keep a copy
		p.own = p.own[:0]
		for i := 0; i < ar; i++ {
			p.own = append(p.own, a[i*lda:i*lda+ac]...)
		}
		p.a, p.lda = p.own, ac
	}
	panA := ceilDiv(m, kern.mr)
	p.offsets = p.offsets[:0]
	need := 0
	for pc := 0; pc < k; pc += p.kc {
		p.offsets = append(p.offsets, need)
		need += panA * kern.mr * min(p.kc, k-pc)
	}
	if cap(p.buf) < need {
		p.buf = make([]float32, need)
	}
	p.buf = p.buf[:need]
	g := &gemmJob{kern: kern, transA: transA, a: a, lda: lda, ic: 0, mb: m, rowG: panA}
	for b, pc := 0, 0; pc < k; b, pc = b+1, pc+p.kc {
		g.pc, g.kb, g.panA = pc, min(p.kc, k-pc), panA
		g.bufA = p.buf[p.offsets[b]:]
		g.packAGroup(0)
	}
}

// GemmSerialPacked computes C = alpha·A·op(B) + beta·C on the calling goroutine, with A packed
// by p.Pack (m×k) and op(B) k×n; the same bits as Gemm(transA, transB, …) with the matrix that
// was packed, when the micro-kernel has not changed since (it panics otherwise).
func GemmSerialPacked(p *PackedA, transB bool, n int, alpha float32, b []float32, ldb int, beta float32, c []float32, ldc int) {
	m, k := p.m, p.k
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("B", br, bc, b, ldb)
	checkMatrix("C", m, n, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if p.kern.name != kernelFor(m).name {
		panic("tensor: GemmSerialPacked: the micro-kernel changed since Pack")
	}
	if m*n*k <= smallMACs {
		gemmSmall(p.transA, transB, m, n, k, alpha, p.a, p.lda, b, ldb, beta, c, ldc)
		return
	}
	kern := p.kern
	mr, nr, kc := kern.mr, kern.nr, p.kc
	ncb := min(n, max(nr, ncMax/nr*nr))
	const lineF = 16
	sizeB := (ceilDiv(ncb, nr)*nr*kc + lineF - 1) &^ (lineF - 1)
	sizeS := mr * nr
	ws := workspacePool.Get().(*workspace)
	if need := sizeB + sizeS + lineF; cap(ws.buf) < need {
		ws.buf = make([]float32, need)
	}
	buf := ws.buf[:cap(ws.buf)]
	if off := int(uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 63); off != 0 {
		buf = buf[(64-off)/4:]
	}
	panA := ceilDiv(m, mr)
	g := gemmJobPool.Get().(*gemmJob)
	*g = gemmJob{
		kern: kern, transB: transB, b: b, c: c, ldb: ldb, ldc: ldc, alpha: alpha,
		bufB:    buf[:sizeB:sizeB],
		scratch: buf[sizeB : sizeB+sizeS : sizeB+sizeS],
		rowG:    panA,
		colG:    1,
	}
	for jc := 0; jc < n; jc += ncb {
		nb := min(ncb, n-jc)
		for blk, pc := 0, 0; pc < k; blk, pc = blk+1, pc+kc {
			kb := min(kc, k-pc)
			g.beta = beta
			if pc > 0 {
				g.beta = 1
			}
			g.ic, g.mb, g.jc, g.nb, g.pc, g.kb = 0, m, jc, nb, pc, kb
			g.panA, g.panB = panA, ceilDiv(nb, nr)
			g.nColG = g.panB
			g.bufA = p.buf[p.offsets[blk]:]
			for t := 0; t < g.panB; t++ {
				g.packBGroup(t)
			}
			for t := 0; t < g.nColG; t++ {
				g.compute(0, t)
			}
		}
	}
	*g = gemmJob{}
	gemmJobPool.Put(g)
	workspacePool.Put(ws)
}

// PanelWidth returns the column width nr of the B panels that GemmSerialPanels reads for
// products with m rows packed by PackedA, and the most k it takes (one k-block); a caller
// writes panel j as k rows of nr floats, columns j·nr…(j+1)·nr−1 of B.
func PanelWidth(m int) (nr, kmax int) {
	kern := kernelFor(m)
	kc := kern.kc
	if kc <= 0 {
		kc = kcMax
	}
	return kern.nr, kc
}

// GemmSerialPanels computes C = A·B + beta·C (m×n) on the calling goroutine, with A packed by
// p.Pack (m×k, k at most PanelWidth's kmax) and B (k×n) already in panels: bp holds
// ⌈n/nr⌉ panels of k·nr floats, panel j's row q being B[q][j·nr…j·nr+nr−1] (entries past n
// are read and ignored). It gives GemmSerialPacked's bits for products it does not send to its
// small-product path, and it skips packing B.
func GemmSerialPanels(p *PackedA, bp []float32, n int, beta float32, c []float32, ldc int) {
	m, k := p.m, p.k
	checkMatrix("C", m, n, c, ldc)
	if p.kern.name != kernelFor(m).name {
		panic("tensor: GemmSerialPanels: the micro-kernel changed since Pack")
	}
	kern := p.kern
	mr, nr := kern.mr, kern.nr
	if k > p.kc {
		panic(fmt.Sprintf("tensor: GemmSerialPanels: k = %d exceeds one k-block (%d)", k, p.kc))
	}
	panB := ceilDiv(n, nr)
	if len(bp) < panB*nr*k {
		panic(fmt.Sprintf("tensor: GemmSerialPanels: %d panel floats, want %d", len(bp), panB*nr*k))
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	ws := workspacePool.Get().(*workspace)
	if cap(ws.buf) < mr*nr {
		ws.buf = make([]float32, mr*nr)
	}
	g := gemmJobPool.Get().(*gemmJob)
	*g = gemmJob{
		kern: kern, c: c, ldc: ldc, alpha: 1, beta: beta,
		bufA: p.buf[p.offsets[0]:], bufB: bp[:panB*nr*k],
		scratch: ws.buf[:mr*nr],
		ic:      0, mb: m, jc: 0, nb: n, pc: 0, kb: k,
		panA: ceilDiv(m, mr), panB: panB, rowG: ceilDiv(m, mr), colG: 1, nColG: panB,
	}
	for t := 0; t < panB; t++ {
		g.compute(0, t)
	}
	*g = gemmJob{}
	gemmJobPool.Put(g)
	workspacePool.Put(ws)
}
