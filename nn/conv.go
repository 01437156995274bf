package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"unsafe"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// chw reads a per-example [C,H,W] shape.
func chw(in []int, layer string) (c, h, w int, err error) {
	if len(in) != 3 {
		return 0, 0, 0, fmt.Errorf("model: %s needs image input [C,H,W], got shape %v", layer, in)
	}
	return in[0], in[1], in[2], nil
}

// Conv2D is a 2-D convolution with square kernels, weight [Out, C, K, K] (PyTorch's layout),
// on NCHW activations. Layout and loops are chosen so that no batch-sized intermediate goes
// through memory: the output is one GEMM per example (W·cols_e) on the example's im2col
// columns in a per-thread buffer, written straight into the example's [Out, OH·OW] block
// (bias, ReLU and pooling applied while it is in cache); Backward rebuilds the columns of a
// few examples at a time (a chunk of about 1,024 output pixels) and multiplies them by the
// chunk's output gradient for the weight gradient, and by Wᵀ for each example's input gradient
// (col2im). The weight gradient is summed chunk by chunk in a fixed grouping that depends on
// the batch size only, so results do not depend on the thread count.
type Conv2D struct {
	Out, K, Stride, Pad int
	NoBias              bool
	Winograd            bool // 3×3, stride 1, padding 1, ≥ 16 input channels: computed as F(4×4, 3×3) (winograd.go)

	c, h, w, oh, ow int
	vcols           [][2]int // validCols of each tap column kj, from Build
	W, B            param.Span
	x, xk           []float32 // the last input (not owned), or its kept rows (KeepRows)
	y, dx           []float32
	n               int
	relu            bool                // the last forward applied a ReLU (Model.fused)
	pool            *Pool2D             // the last forward pooled its output with this layer (Model.fused)
	yb, yk          []float32           // relu: the outputs that Backward masks with: y (or pool's), or the kept rows
	pw              tensor.PackedA      // W (forward) or Wᵀ (backward), packed once per call
	wtab            map[int][]winoLanes // Winograd lane tables by examples per chunk (laneTables)
}

// Build implements Layer.
func (l *Conv2D) Build(lay *param.Layout, name string, in []int) ([]int, error) {
	var err error
	if l.c, l.h, l.w, err = chw(in, "conv"); err != nil {
		return nil, err
	}
	if l.Stride == 0 {
		l.Stride = 1
	}
	l.oh = (l.h+2*l.Pad-l.K)/l.Stride + 1
	l.ow = (l.w+2*l.Pad-l.K)/l.Stride + 1
	if l.K <= 0 || l.oh <= 0 || l.ow <= 0 {
		return nil, fmt.Errorf("model: %s: kernel %d does not fit input %v", name, l.K, in)
	}
	l.vcols, l.wtab = nil, nil
	for kj := 0; kj < l.K; kj++ { // validCols of every tap column, computed once
		lo, hi := l.validCols(kj)
		l.vcols = append(l.vcols, [2]int{lo, hi})
	}
	l.W = lay.Add(name+".weight", param.Weight, l.Out, l.c, l.K, l.K)
	if !l.NoBias {
		l.B = lay.Add(name+".bias", param.Bias, l.Out)
	}
	return []int{l.Out, l.oh, l.ow}, nil
}

// Init implements Layer: PyTorch's default U(±1/√fan_in) for weights and bias.
func (l *Conv2D) Init(w []float32, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(l.c*l.K*l.K))
	for _, s := range []param.Span{l.W, l.B} {
		if s.Name == "" {
			continue
		}
		v := s.Of(w)
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
}

// Forward implements Layer.
func (l *Conv2D) Forward(c *Ctx, w, x []float32, n int) []float32 {
	return l.forward(w, x, n, false, nil)
}

// forward computes the n examples' outputs, each as one GEMM W·cols_e written straight into
// its [Out, OH·OW] block of the NCHW output (the im2col columns of every example are kept in
// cols for the weight gradient), with the bias and, when relu is set, a ReLU applied to each
// example's block while it is in cache. With pool (2×2 max pooling after the ReLU) the block
// goes to a per-thread buffer instead and only its pooled values and their arg-max positions
// are written (into pool's buffers), and forward returns pool's output. Every value is the
// same as the layers one by one give.
func (l *Conv2D) forward(w, x []float32, n int, relu bool, pool *Pool2D) []float32 {
	l.n, l.relu, l.pool = n, relu, pool
	ckk, p := l.c*l.K*l.K, l.oh*l.ow
	in := l.c * l.h * l.w
	l.x = x[:n*in]
	if l.winograd() {
		return l.winoForward(w, x, n, relu, pool)
	}
	var pout int
	per := ckk * p // per thread: one example's columns, and its output block when pooling
	if l.poly() {
		per += in // the example's phase images
	}
	if pool != nil {
		pout = pool.prepare(n)
		l.yb = pool.y
		per += l.Out*p + poolPad
	} else {
		l.y = grow(l.y, n*l.Out*p)
		l.yb = l.y
	}
	threads := tensor.Threads() // read once: the scratch has a part per slot
	scratch := getScratch(threads * per)
	defer putScratch(scratch)
	var b []float32
	if !l.NoBias {
		b = l.B.Of(w)
	}
	l.pw.Pack(false, l.Out, ckk, l.W.Of(w), ckk)
	tensor.ParallelSlotsOn(threads, n, 1, func(slot, lo, hi int) {
		buf := (*scratch)[slot*per : (slot+1)*per]
		cols := buf[:ckk*p]
		var tmp []float32
		if l.poly() {
			tmp = buf[len(buf)-in:]
		}
		for e := lo; e < hi; e++ {
			l.im2col(x[e*in:(e+1)*in], cols, 0, p, tmp)
			var ye []float32
			if pool != nil {
				ye = buf[ckk*p:]
			} else {
				ye = l.y[e*l.Out*p : (e+1)*l.Out*p]
			}
			tensor.GemmSerialPacked(&l.pw, false, p, 1, cols, p, 0, ye, p)
			if b != nil || relu {
				for o := 0; o < l.Out; o++ {
					bias := float32(0)
					if b != nil {
						bias = b[o]
					}
					tensor.AddBias(ye[o*p:(o+1)*p], bias, relu)
				}
			}
			if pool != nil {
				pool.max2x2Padded(ye, pool.y[e*pout:(e+1)*pout], pool.arg[e*pout:(e+1)*pout])
			}
		}
	})
	if pool != nil {
		return pool.y
	}
	return l.y
}

// im2col writes the K·K patches of one example x ([C,H,W]) as columns off..off+OH·OW of cols
// (row stride ld); out-of-image taps are 0. tmp (C·H·W floats) is scratch for strided
// convolutions whose taps are shifted phase images (poly).
func (l *Conv2D) im2col(x, cols []float32, off, ld int, tmp []float32) {
	switch {
	case l.same():
		l.im2colSame(x, cols, off, ld)
	case l.poly():
		l.im2colPoly(x, cols, off, ld, tmp)
	default:
		l.im2colAny(x, cols, off, ld)
	}
}

// poly reports a strided convolution with a kernel larger than 1 whose input is exactly Stride
// times its output in each direction (28×28 → 14×14 with K = 3, Pad = 1). The input then splits
// into Stride² phase images of the output's size, phase (a, b) holding the pixels at rows
// a, a+S, … and columns b, b+S, …, and the column of tap (ki, kj) is phase ((ki−Pad) mod S,
// (kj−Pad) mod S) shifted by (⌊(ki−Pad)/S⌋, ⌊(kj−Pad)/S⌋): one contiguous copy, as in same
// convolutions, instead of a strided gather per tap and output row.
func (l *Conv2D) poly() bool {
	s := l.Stride
	return s > 1 && l.K > 1 && l.h == s*l.oh && l.w == s*l.ow
}

// tapShift returns the phase (of poly) and shift of tap index k (ki or kj).
func (l *Conv2D) tapShift(k int) (phase, shift int) {
	d := k - l.Pad
	shift = d / l.Stride
	if d%l.Stride < 0 {
		shift--
	}
	return d - shift*l.Stride, shift
}

// phases writes (split true) the phase images of x ([C,H,W]) into ph ([C][S][S][OH·OW]), or
// (split false) writes them back into x.
func (l *Conv2D) phases(x, ph []float32, split bool) {
	s, p := l.Stride, l.oh*l.ow
	if s == 2 {
		l.phases2(x, ph, split)
		return
	}
	for ch := 0; ch < l.c; ch++ {
		img := x[ch*l.h*l.w : (ch+1)*l.h*l.w]
		for a := 0; a < s; a++ {
			for b := 0; b < s; b++ {
				dst := ph[((ch*s+a)*s+b)*p : ((ch*s+a)*s+b+1)*p]
				for oi := 0; oi < l.oh; oi++ {
					row := img[(oi*s+a)*l.w+b:]
					d := dst[oi*l.ow : (oi+1)*l.ow]
					if split {
						for oj := range d {
							d[oj] = row[oj*s]
						}
						continue
					}
					for oj, v := range d {
						row[oj*s] = v
					}
				}
			}
		}
	}
}

// phases2 is phases for stride 2: each input row, read as ow pairs, goes to its two phases'
// rows at once.
func (l *Conv2D) phases2(x, ph []float32, split bool) {
	p, ow := l.oh*l.ow, l.ow
	for ch := 0; ch < l.c; ch++ {
		img := x[ch*l.h*l.w : (ch+1)*l.h*l.w]
		for a := 0; a < 2; a++ {
			even := ph[((ch*2+a)*2)*p : ((ch*2+a)*2+1)*p]
			odd := ph[((ch*2+a)*2+1)*p : ((ch*2+a)*2+2)*p]
			for oi := 0; oi < l.oh; oi++ {
				row := img[(oi*2+a)*l.w:][:2*ow]
				pairs := unsafe.Slice((*[2]float32)(unsafe.Pointer(&row[0])), ow)
				e, o := even[oi*ow:][:ow], odd[oi*ow:][:ow]
				if split {
					for j, pr := range pairs {
						e[j], o[j] = pr[0], pr[1]
					}
					continue
				}
				for j := range pairs {
					pairs[j] = [2]float32{e[j], o[j]}
				}
			}
		}
	}
}

// im2colPoly is im2col for poly convolutions: one shifted copy of a phase image per tap (the
// phases in tmp). The values are those of the general loop.
func (l *Conv2D) im2colPoly(x, cols []float32, off, ld int, tmp []float32) {
	p := l.oh * l.ow
	l.phases(x, tmp, true)
	l.polyTaps(tmp, func(row int, img []float32, di, dj int) {
		shiftCopy(cols[row*ld+off:row*ld+off+p], img, di, dj, l.oh, l.ow)
	})
}

// col2imPoly is col2im (into dx) for poly convolutions: each tap's block (scratch, its wrapped
// entries zeroed) is added to its shifted phase image in tmp, then the phases are written into
// dx. Every input element receives the same sums, tap by tap in the same order, as in the
// general loop.
func (l *Conv2D) col2imPoly(cols []float32, off, ld int, dx, tmp []float32) {
	p := l.oh * l.ow
	tmp = tmp[:l.c*l.h*l.w]
	clear(tmp)
	l.polyTaps(tmp, func(row int, img []float32, di, dj int) {
		shiftAdd(cols[row*ld+off:row*ld+off+p], img, di, dj, l.oh, l.ow)
	})
	l.phases(dx, tmp, false)
}

// polyTaps calls f for every tap of a poly convolution in the columns' row order, with the
// tap's phase image in ph and its shift.
func (l *Conv2D) polyTaps(ph []float32, f func(row int, img []float32, di, dj int)) {
	s, p := l.Stride, l.oh*l.ow
	row := 0
	for ch := 0; ch < l.c; ch++ {
		for ki := 0; ki < l.K; ki++ {
			a, di := l.tapShift(ki)
			for kj := 0; kj < l.K; kj++ {
				b, dj := l.tapShift(kj)
				f(row, ph[((ch*s+a)*s+b)*p:((ch*s+a)*s+b+1)*p], di, dj)
				row++
			}
		}
	}
}

// shiftRange returns the rows [r0, r1) and columns [c0, c1) of an oh×ow block whose source
// (oi+di, oj+dj) lies inside an oh×ow image (r1 ≤ r0 when none does).
func shiftRange(di, dj, oh, ow int) (r0, r1, c0, c1 int) {
	return min(oh, max(0, -di)), max(0, min(oh, oh-di)), min(ow, max(0, -dj)), max(0, min(ow, ow-dj))
}

// shiftCopy writes dst[oi·ow+oj] = img[(oi+di)·ow + oj+dj] (0 where that lies outside the
// oh×ow image): one contiguous copy, then the wrapped entries zeroed.
func shiftCopy(dst, img []float32, di, dj, oh, ow int) {
	hw := oh * ow
	dst = dst[:hw]
	r0, r1, c0, c1 := shiftRange(di, dj, oh, ow)
	if r1 <= r0 {
		clear(dst)
		return
	}
	clear(dst[:r0*ow])
	clear(dst[r1*ow:])
	d := di*ow + dj
	lo, hi := r0*ow, r1*ow // dst[q] = img[q+d] for q in [lo, hi)
	s0, s1 := lo+d, hi+d
	if s0 < 0 { // only the wrapped entries of the first row reach before the image
		clear(dst[lo : lo-s0])
		lo, s0 = lo-s0, 0
	}
	if s1 > hw {
		clear(dst[hi-(s1-hw) : hi])
		hi, s1 = hi-(s1-hw), hw
	}
	copy(dst[lo:hi], img[s0:s1])
	zeroCols(dst, c0, c1, r0, r1, ow)
}

// shiftAdd adds src[oi·ow+oj] to img[(oi+di)·ow + oj+dj] where that lies inside the oh×ow
// image, in one call; src is scratch (its wrapped entries are zeroed first).
func shiftAdd(src, img []float32, di, dj, oh, ow int) {
	hw := oh * ow
	r0, r1, c0, c1 := shiftRange(di, dj, oh, ow)
	if r1 <= r0 {
		return
	}
	zeroCols(src, c0, c1, r0, r1, ow)
	d := di*ow + dj
	lo, hi := r0*ow, r1*ow
	if lo+d < 0 {
		lo = -d
	}
	if hi+d > hw {
		hi = hw - d
	}
	tensor.Axpy(1, src[lo:hi], img[lo+d:hi+d])
}

// zeroCols zeroes, in rows [r0, r1) of an ow-wide block, the entries outside columns [c0, c1).
func zeroCols(dst []float32, c0, c1, r0, r1, ow int) {
	if c0 == 0 && c1 == ow {
		return
	}
	rows := dst[r0*ow : r1*ow]
	for j := 0; j < c0; j++ {
		for q := j; q < len(rows); q += ow {
			rows[q] = 0
		}
	}
	for j := max(c1, c0); j < ow; j++ {
		for q := j; q < len(rows); q += ow {
			rows[q] = 0
		}
	}
}

// im2colAny is im2col for every shape, row segment by row segment.
func (l *Conv2D) im2colAny(x, cols []float32, off, ld int) {
	row := 0
	for ch := 0; ch < l.c; ch++ {
		img := x[ch*l.h*l.w : (ch+1)*l.h*l.w]
		for ki := 0; ki < l.K; ki++ {
			for kj := 0; kj < l.K; kj++ {
				dst := cols[row*ld+off : row*ld+off+l.oh*l.ow]
				row++
				lo, hi := l.validCols(kj)
				for oi := 0; oi < l.oh; oi++ {
					ii := oi*l.Stride - l.Pad + ki
					d := dst[oi*l.ow : (oi+1)*l.ow]
					if ii < 0 || ii >= l.h {
						clear(d)
						continue
					}
					src := img[ii*l.w : (ii+1)*l.w]
					if l.Stride == 1 { // a shifted copy between zero margins
						clear(d[:lo])
						copy(d[lo:hi], src[lo-l.Pad+kj:hi-l.Pad+kj])
						clear(d[hi:])
						continue
					}
					// Strided: output columns [lo, hi) read input columns oj·Stride − Pad + kj.
					for oj := 0; oj < lo; oj++ {
						d[oj] = 0
					}
					for oj := hi; oj < len(d); oj++ {
						d[oj] = 0
					}
					if hi > lo {
						st, j0 := l.Stride, lo*l.Stride-l.Pad+kj
						sv := src[j0 : j0+(hi-lo-1)*st+1]
						dv := d[lo:hi]
						for q := range dv {
							dv[q] = sv[q*st]
						}
					}
				}
			}
		}
	}
}

// same reports a stride-1 convolution whose output has the input's size (2·Pad = K−1): the
// column of tap (ki, kj) is then the image shifted by d = (ki−Pad)·W + kj−Pad, one contiguous
// copy, except for the taps that fall off the image's left or right edge (wrapped into the
// neighbouring row) and its top or bottom.
func (l *Conv2D) same() bool { return l.Stride == 1 && l.oh == l.h && l.ow == l.w }

// im2colSame is im2col for same convolutions: one shifted copy per tap, then the wrapped and
// out-of-image entries set to 0. The values are those of the general loop.
func (l *Conv2D) im2colSame(x, cols []float32, off, ld int) {
	hw := l.h * l.w
	l.sameTaps(x, func(row int, img []float32, di, dj int) {
		shiftCopy(cols[row*ld+off:row*ld+off+hw], img, di, dj, l.h, l.w)
	})
}

// col2imSame is col2im for same convolutions: the wrapped entries of each tap's block are
// zeroed (the block is the caller's scratch), then the block is added to the shifted image in
// one call. Every input element receives the same sums, tap by tap in the same order, as in
// the general loop.
func (l *Conv2D) col2imSame(cols []float32, off, ld int, dx []float32) {
	hw := l.h * l.w
	l.sameTaps(dx, func(row int, img []float32, di, dj int) {
		shiftAdd(cols[row*ld+off:row*ld+off+hw], img, di, dj, l.h, l.w)
	})
}

// sameTaps calls f for every tap of a same convolution in the columns' row order, with the
// tap's channel of x and its shift (polyTaps for strided convolutions).
func (l *Conv2D) sameTaps(x []float32, f func(row int, img []float32, di, dj int)) {
	hw := l.h * l.w
	row := 0
	for ch := 0; ch < l.c; ch++ {
		for ki := 0; ki < l.K; ki++ {
			for kj := 0; kj < l.K; kj++ {
				f(row, x[ch*hw:(ch+1)*hw], ki-l.Pad, kj-l.Pad)
				row++
			}
		}
	}
}

// validCols returns the output columns [lo, hi) whose input column oj·Stride − Pad + kj lies
// inside the image.
func (l *Conv2D) validCols(kj int) (lo, hi int) {
	if kj < len(l.vcols) {
		return l.vcols[kj][0], l.vcols[kj][1]
	}
	lo = max(0, (l.Pad-kj+l.Stride-1)/l.Stride)
	hi = min(l.ow, (l.w+l.Pad-kj+l.Stride-1)/l.Stride)
	return lo, max(lo, hi)
}

// col2im writes one example's gradient dx from its columns off..off+OH·OW of cols, adding
// each tap's contributions (tmp as in im2col; the columns may be overwritten).
func (l *Conv2D) col2im(cols []float32, off, ld int, dx, tmp []float32) {
	if l.poly() {
		l.col2imPoly(cols, off, ld, dx, tmp)
		return
	}
	clear(dx)
	if l.same() {
		l.col2imSame(cols, off, ld, dx)
		return
	}
	l.col2imAny(cols, off, ld, dx)
}

// col2imAny is col2im (into a cleared dx) for every shape, row segment by row segment.
func (l *Conv2D) col2imAny(cols []float32, off, ld int, dx []float32) {
	row := 0
	for ch := 0; ch < l.c; ch++ {
		img := dx[ch*l.h*l.w : (ch+1)*l.h*l.w]
		for ki := 0; ki < l.K; ki++ {
			for kj := 0; kj < l.K; kj++ {
				src := cols[row*ld+off : row*ld+off+l.oh*l.ow]
				row++
				lo, hi := l.validCols(kj)
				for oi := 0; oi < l.oh; oi++ {
					ii := oi*l.Stride - l.Pad + ki
					if ii < 0 || ii >= l.h {
						continue
					}
					d := img[ii*l.w : (ii+1)*l.w]
					s := src[oi*l.ow : (oi+1)*l.ow]
					if l.Stride == 1 {
						tensor.Axpy(1, s[lo:hi], d[lo-l.Pad+kj:])
						continue
					}
					if hi > lo {
						st, j0 := l.Stride, lo*l.Stride-l.Pad+kj
						dv := d[j0 : j0+(hi-lo-1)*st+1]
						for q, v := range s[lo:hi] {
							dv[q*st] += v
						}
					}
				}
			}
		}
	}
}

// KeepRows implements RowKeeper: the kept examples' inputs (and the outputs a fused ReLU
// masks with).
func (l *Conv2D) KeepRows(idx []int, n int) {
	p := l.oh * l.ow
	l.xk = gatherRows(l.xk, l.x, idx, l.c*l.h*l.w)
	l.x = l.xk
	switch {
	case l.pool != nil:
		l.yk = gatherRows(l.yk, l.pool.y, idx, l.Out*l.pool.oh*l.pool.ow)
		l.yb = l.yk
	case l.relu:
		l.yk = gatherRows(l.yk, l.y, idx, l.Out*p)
		l.yb = l.yk
	}
}

// chunking returns the examples per chunk (about 1,024 output pixels, at most 16 examples)
// and the chunks per group of Backward for n examples: at most 8 groups, each with its own
// partial weight gradient. Both depend on the layer's shape and n only.
func (l *Conv2D) chunking(n int) (per, chunksPerGroup int) {
	p := l.oh * l.ow
	per = min(n, max(1, min(16, 1024/p)))
	chunks := (n + per - 1) / per
	return per, (chunks + 7) / 8
}

// Backward implements Layer.
func (l *Conv2D) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	if l.winograd() {
		return l.winoBackward(w, g, dy, n, needDX)
	}
	ckk, p, in := l.c*l.K*l.K, l.oh*l.ow, l.c*l.h*l.w
	per, cpg := l.chunking(n)
	chunks := (n + per - 1) / per
	groups := (chunks + cpg - 1) / cpg
	ld := per * p // row length of a chunk's matrices
	nb := 0
	if !l.NoBias {
		nb = l.Out
	}
	psz := l.Out*ckk + nb
	partBuf := getScratch(groups * psz)
	defer putScratch(partBuf)
	parts := *partBuf
	ssz := (ckk + l.Out) * ld
	if l.poly() {
		ssz += in // phase images (im2col, col2im)
	}
	if needDX {
		ssz += ckk * p
		l.dx = grow(l.dx, n*in)
		l.pw.Pack(true, ckk, l.Out, l.W.Of(w), ckk) // Wᵀ
	}
	threads := tensor.Threads() // read once: the scratch has a part per slot
	scratch := getScratch(threads * ssz)
	defer putScratch(scratch)
	tensor.ParallelSlotsOn(threads, groups, 1, func(slot, lo, hi int) {
		buf := (*scratch)[slot*ssz : (slot+1)*ssz]
		cols, d := buf[:ckk*ld], buf[ckk*ld:(ckk+l.Out)*ld]
		var tmp []float32
		if l.poly() {
			tmp = buf[len(buf)-in:]
		}
		for gi := lo; gi < hi; gi++ {
			part := parts[gi*psz : (gi+1)*psz]
			gw, gb := part[:l.Out*ckk], part[l.Out*ckk:]
			clear(gb)
			for ci := gi * cpg; ci < min((gi+1)*cpg, chunks); ci++ {
				e0, e1 := ci*per, min((ci+1)*per, n)
				m := (e1 - e0) * p
				for e := e0; e < e1; e++ {
					l.im2col(l.x[e*in:(e+1)*in], cols, (e-e0)*p, ld, tmp)
					l.outGrad(dy, e, d, (e-e0)*p, ld)
				}
				beta := float32(1)
				if ci == gi*cpg {
					beta = 0
				}
				// The weight gradient transposed, colsᵀ-by-dᵀ: [C·K·K, Out] tiles the
				// micro-kernel better than [Out, C·K·K] (few output channels, or a 1-channel
				// input), with the same sums.
				tensor.GemmSerial(false, true, ckk, l.Out, m, 1, cols, ld, d, ld, beta, gw, l.Out)
				rowSums(gb, d, ld, m)
				if !needDX {
					continue
				}
				dc := buf[(ckk+l.Out)*ld:]
				for e := e0; e < e1; e++ {
					tensor.GemmSerialPacked(&l.pw, false, p, 1, d[(e-e0)*p:], ld, 0, dc, p)
					l.col2im(dc, 0, p, l.dx[e*in:(e+1)*in], tmp)
				}
			}
		}
	})
	// The groups' partial gradients, added in group order (into the first), then transposed.
	sum := parts[:psz]
	for gi := 1; gi < groups; gi++ {
		tensor.Axpy(1, parts[gi*psz:(gi+1)*psz], sum)
	}
	gw := l.W.Of(g)
	for k := 0; k < ckk; k++ {
		for o, v := range sum[k*l.Out : (k+1)*l.Out] {
			gw[o*ckk+k] = v
		}
	}
	if nb > 0 {
		copy(l.B.Of(g), sum[l.Out*ckk:])
	}
	if !needDX {
		return nil
	}
	return l.dx
}

// scratch holds the convolutions' and batch normalisations' per-call buffers (columns, output
// blocks and gradients of a chunk per thread, partial weight gradients, Winograd tiles), shared
// by all layers and models: one layer's pass needs them only while it runs. A request takes the
// smallest free buffer that is large enough, so that layers of different sizes reuse the same
// few buffers instead of dropping and reallocating them (as a sync.Pool, which hands out any
// buffer, did: the heap grew by tens of MB per step until the next collection).
var scratch struct {
	mu   sync.Mutex
	free []*[]float32
}

// maxFreeScratch is the most free buffers scratch keeps; beyond it the smallest is dropped.
const maxFreeScratch = 8

func getScratch(n int) *[]float32 {
	scratch.mu.Lock()
	best := -1
	for i, b := range scratch.free {
		if cap(*b) >= n && (best < 0 || cap(*b) < cap(*scratch.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := scratch.free[best]
		last := len(scratch.free) - 1
		scratch.free[best] = scratch.free[last]
		scratch.free[last] = nil
		scratch.free = scratch.free[:last]
		scratch.mu.Unlock()
		*b = (*b)[:n]
		return b
	}
	scratch.mu.Unlock()
	b := make([]float32, n)
	return &b
}

func putScratch(b *[]float32) {
	scratch.mu.Lock()
	defer scratch.mu.Unlock()
	scratch.free = append(scratch.free, b)
	if len(scratch.free) > maxFreeScratch {
		small := 0
		for i, f := range scratch.free {
			if cap(*f) < cap(*scratch.free[small]) {
				small = i
			}
		}
		last := len(scratch.free) - 1
		scratch.free[small] = scratch.free[last]
		scratch.free[last] = nil
		scratch.free = scratch.free[:last]
	}
}

// rowSums adds to gb[o] the sum of the first m entries of row o of d (row stride ld), each
// summed in float64 by the vector kernel (tensor.Moments64) and rounded once.
func rowSums(gb, d []float32, ld, m int) {
	for o := range gb {
		sum, _ := tensor.Moments64(d[o*ld : o*ld+m])
		gb[o] += float32(sum)
	}
}

// outGrad writes example e's gradient with respect to the convolution's output (before any
// fused ReLU and pooling) into columns off..off+OH·OW of d (row stride ld), from dy, the
// gradient with respect to the layer's output: a copy, the ReLU-masked copy, or (with
// pooling) each pooled value's gradient at its arg-max position where the ReLU passes it and 0
// elsewhere, as pooling's and then ReLU's Backward compute it (0 + v, then the mask).
func (l *Conv2D) outGrad(dy []float32, e int, d []float32, off, ld int) {
	p := l.oh * l.ow
	for o := 0; o < l.Out; o++ {
		dst := d[o*ld+off : o*ld+off+p]
		switch {
		case l.pool != nil:
			q := l.pool.oh * l.pool.ow
			clear(dst)
			base := int32(o * p)
			r := (e*l.Out + o) * q
			src, args, ys := dy[r:r+q], l.pool.ab[r:r+q], l.yb[r:r+q]
			for j, v := range src {
				t := float32(0) + v
				m := math.Float32bits(ys[j])
				mask := -((m + 0x7fffffff) >> 31)
				dst[args[j]-base] = math.Float32frombits(math.Float32bits(t) & mask)
			}
		case l.relu:
			tensor.ReLUMask(dst, dy[(e*l.Out+o)*p:(e*l.Out+o+1)*p], l.yb[(e*l.Out+o)*p:])
		default:
			copy(dst, dy[(e*l.Out+o)*p:(e*l.Out+o+1)*p])
		}
	}
}

// Pool2D is max or average pooling with a K×K window and stride K (PyTorch's default stride).
// Global average pooling is Pool2D{Avg: true, Global: true}, with output [C].
type Pool2D struct {
	K           int
	Avg, Global bool

	c, h, w, oh, ow int
	arg             []int32 // max: index of the maximum within each example's input
	ab, ak          []int32 // the arg rows Backward uses: arg, or the kept rows (KeepRows)
	y, dx           []float32
}

// Build implements Layer.
func (l *Pool2D) Build(lay *param.Layout, name string, in []int) ([]int, error) {
	var err error
	if l.c, l.h, l.w, err = chw(in, "pooling"); err != nil {
		return nil, err
	}
	if l.Global {
		l.Avg, l.K = true, 0
		l.oh, l.ow = 1, 1
		return []int{l.c}, nil
	}
	if l.K <= 0 || l.h < l.K || l.w < l.K {
		return nil, fmt.Errorf("model: %s: pooling window %d does not fit input %v", name, l.K, in)
	}
	l.oh, l.ow = l.h/l.K, l.w/l.K
	return []int{l.c, l.oh, l.ow}, nil
}

// Init implements Layer (no parameters).
func (l *Pool2D) Init([]float32, *rand.Rand) {}

// Forward implements Layer.
func (l *Pool2D) Forward(c *Ctx, w, x []float32, n int) []float32 {
	in, out := l.c*l.h*l.w, l.prepare(n)
	kh, kw := l.K, l.K
	if l.Global {
		kh, kw = l.h, l.w
	}
	inv := 1 / float32(kh*kw)
	tensor.Parallel(n, 1, func(lo, hi int) {
		for e := lo; e < hi; e++ {
			xe, ye := x[e*in:(e+1)*in], l.y[e*out:(e+1)*out]
			if !l.Avg && l.K == 2 {
				l.max2x2(xe, ye, l.arg[e*out:(e+1)*out])
				continue
			}
			for ch := 0; ch < l.c; ch++ {
				for oi := 0; oi < l.oh; oi++ {
					for oj := 0; oj < l.ow; oj++ {
						o := (ch*l.oh+oi)*l.ow + oj
						best, arg, sum := float32(math.Inf(-1)), int32(0), float32(0)
						for a := 0; a < kh; a++ {
							for b := 0; b < kw; b++ {
								idx := (ch*l.h+oi*kh+a)*l.w + oj*kw + b
								v := xe[idx]
								sum += v
								if v > best {
									best, arg = v, int32(idx)
								}
							}
						}
						if l.Avg {
							ye[o] = sum * inv
						} else {
							ye[o] = best
							l.arg[e*out+o] = arg
						}
					}
				}
			}
		}
	})
	return l.y
}

// poolPad is the padding after a fused convolution's output block that max2x2Padded may read.
const poolPad = 32

// max2x2Padded is max2x2 of one example whose input x is followed by poolPad readable floats:
// every output row is computed in whole blocks of 8 by the vector kernel, the block's surplus
// outputs written into the following rows (computed after, so overwritten) or, at the end of
// the example, into a buffer and dropped. The values are max2x2's.
func (l *Pool2D) max2x2Padded(x, y []float32, arg []int32) {
	n8 := (l.ow + 7) &^ 7
	var ty [16]float32
	var ta [16]int32
	for ch := 0; ch < l.c; ch++ {
		for oi := 0; oi < l.oh; oi++ {
			r0 := (ch*l.h + 2*oi) * l.w
			r1 := r0 + l.w
			row0, row1 := x[r0:r0+2*n8], x[r1:r1+2*n8]
			o := (ch*l.oh + oi) * l.ow
			if o+n8 <= len(y) {
				tensor.MaxPool2Blocks(y[o:o+n8], arg[o:o+n8], row0, row1, int32(r0), int32(r1))
				continue
			}
			for j := 0; j < l.ow; j += 8 { // the last rows: through the buffer
				m := min(8, l.ow-j)
				tensor.MaxPool2Blocks(ty[:8], ta[:8], row0[2*j:2*j+16], row1[2*j:2*j+16], int32(r0+2*j), int32(r1+2*j))
				copy(y[o+j:o+j+m], ty[:m])
				copy(arg[o+j:o+j+m], ta[:m])
			}
		}
	}
}

// prepare sizes the output (and arg-max) buffers for n examples and returns the output size
// of one.
func (l *Pool2D) prepare(n int) int {
	out := l.c * l.oh * l.ow
	l.y = grow(l.y, n*out)
	if !l.Avg && cap(l.arg) < n*out {
		l.arg = make([]int32, n*out)
	}
	if !l.Avg {
		l.ab = l.arg[:n*out]
	}
	return out
}

// max2x2 is the common 2×2 max pooling of one example, with the arg-max index of each output.
func (l *Pool2D) max2x2(x, y []float32, arg []int32) {
	for ch := 0; ch < l.c; ch++ {
		for oi := 0; oi < l.oh; oi++ {
			r0 := (ch*l.h + 2*oi) * l.w
			r1 := r0 + l.w
			row0, row1 := x[r0:r0+2*l.ow], x[r1:r1+2*l.ow]
			o := (ch*l.oh + oi) * l.ow
			tensor.MaxPool2(y[o:o+l.ow], arg[o:o+l.ow], row0, row1, int32(r0), int32(r1))
		}
	}
}

// KeepRows implements RowKeeper.
func (l *Pool2D) KeepRows(idx []int, n int) {
	if !l.Avg {
		l.ak = gatherRows(l.ak, l.arg, idx, l.c*l.oh*l.ow)
		l.ab = l.ak
	}
}

// Tangent returns the change of the last Forward's n output rows along a change rx of its input
// (the directional derivative): max pooling passes on each window's arg-max element, average
// pooling averages. Exact Hessian-vector products (package sharpness) use it. The result
// belongs to the layer until its next call.
func (l *Pool2D) Tangent(rx []float32, n int) []float32 {
	if l.Avg {
		return l.Forward(&Ctx{}, nil, rx, n) // linear
	}
	in, out := l.c*l.h*l.w, l.c*l.oh*l.ow
	l.y = grow(l.y, n*out)
	for e := range n {
		ye, xe, ae := l.y[e*out:(e+1)*out], rx[e*in:(e+1)*in], l.ab[e*out:(e+1)*out]
		for o, a := range ae {
			ye[o] = xe[a]
		}
	}
	return l.y
}

// Backward implements Layer.
func (l *Pool2D) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	in, out := l.c*l.h*l.w, l.c*l.oh*l.ow
	l.dx = grow(l.dx, n*in)
	kh, kw := l.K, l.K
	if l.Global {
		kh, kw = l.h, l.w
	}
	inv := 1 / float32(kh*kw)
	tensor.Parallel(n, 1, func(lo, hi int) {
		for e := lo; e < hi; e++ {
			dxe, dye := l.dx[e*in:(e+1)*in], dy[e*out:(e+1)*out]
			clear(dxe)
			for ch := 0; ch < l.c; ch++ {
				for oi := 0; oi < l.oh; oi++ {
					for oj := 0; oj < l.ow; oj++ {
						o := (ch*l.oh+oi)*l.ow + oj
						if !l.Avg {
							dxe[l.ab[e*out+o]] += dye[o]
							continue
						}
						d := dye[o] * inv
						for a := 0; a < kh; a++ {
							for b := 0; b < kw; b++ {
								dxe[(ch*l.h+oi*kh+a)*l.w+oj*kw+b] += d
							}
						}
					}
				}
			}
		}
	})
	return l.dx
}
