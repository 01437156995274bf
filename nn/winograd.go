package nn

import (
	"sync"

	"github.com/samgo/sam/tensor"
)

// Winograd convolutions (Spec.Conv "winograd"): a 3×3 convolution with stride 1 and padding 1
// computed as F(4×4, 3×3) (Lavin & Gray, CVPR 2016). Each 4×4 output tile is
// Aᵀ[Σ_c (G g Gᵀ) ⊙ (Bᵀ d B)]A over the 6×6 input tiles d, so the products over the channels
// become 36 GEMMs, one per point ξ of the 6×6 transform: M_ξ = U_ξ·V_ξ with U_ξ the
// transformed weights [Out, C] and V_ξ the transformed tiles [C, tiles]. That is 36 multiplies
// per 16 outputs instead of 144: a quarter of the direct convolution's. The gradients are the
// adjoints of the same steps (A dY Aᵀ, U_ξᵀ·Z_ξ, B dV Bᵀ for the input; Z_ξ·V_ξᵀ and Gᵀ dU G for
// the weights), so they are the exact gradients of what the forward pass computes.
//
// Layout: activations stay NCHW. A chunk is a few whole examples (at least 64 tiles); its tile
// transforms (tensor.WinoTransform) gather the 6×6 tiles of 16 tiles at a time straight from the
// images and write them as the rows of V_ξ, so no im2col matrix is built, and the output
// transform scatters the 4×4 tiles straight into the output (or, with a fused 2×2 max pooling,
// into a per-thread buffer that is pooled at once). Every chunk is computed by one
// thread in a fixed order and the weight gradient is summed in a grouping that depends on the
// batch size only, so results do not depend on the thread count. The values differ from the
// direct convolution's by rounding (about 1e-5 relative): the arithmetic is a different one.

// winoMinChannels is the fewest input channels for which a Winograd layer uses F(4×4, 3×3):
// with 1 or 3 (the stems of the ResNet and WideResNet) the 36 GEMMs are too thin and the direct
// convolution was faster (ResNet stem: 0.48 vs 1.94 ms forward at batch 128); with 16 it was
// slightly faster. Tests lower it to check small layers.
var winoMinChannels = 16

// winograd reports whether the layer is computed as F(4×4, 3×3) (with its fused ReLU and pooling,
// if any).
func (l *Conv2D) winograd() bool {
	return l.Winograd && l.K == 3 && l.Stride == 1 && l.Pad == 1 && l.same() && l.c >= winoMinChannels
}

// winoGeom is a layer's tile grid for chunks of per examples.
type winoGeom struct {
	th, tw, tpi int // tile rows and columns per example, tiles per example
	per         int // examples per chunk
	ld          int // row length of V, M and Z: per·tpi rounded up to 32 (a whole number of B panels)
	ldu         int // row length of U: Out·C rounded up to 16
}

func (l *Conv2D) winoGeom(n int) winoGeom {
	g := winoGeom{th: (l.oh + 3) / 4, tw: (l.ow + 3) / 4}
	g.tpi = g.th * g.tw
	g.per = min(n, max(1, (64+g.tpi-1)/g.tpi))
	g.ld = (g.per*g.tpi + 31) &^ 31
	g.ldu = (l.Out*l.c + 15) &^ 15
	return g
}

// winoLanes holds the lane tables of one group of 16 tiles for the four image transforms.
type winoLanes struct {
	in, out   [tensor.WinoLanes]int32 // element offsets of lane l's tile: input (−1, −1) corner; output corner
	inMask    [36]uint16              // input tile value (r,s) inside the image (and the lane a tile)
	outMask   [16]uint16              // output tile value (a,b) inside the image
	inOffs    [36]int                 // (r,s) ↦ r·W + s
	outOffs   [16]int                 // (a,b) ↦ a·OW + b
	tilesUsed int
}

// lanes fills t for tiles 16·grp… of a chunk of ne examples.
func (l *Conv2D) lanes(t *winoLanes, g *winoGeom, grp, ne int) {
	*t = winoLanes{}
	for r := 0; r < 6; r++ {
		for s := 0; s < 6; s++ {
			t.inOffs[r*6+s] = r*l.w + s
		}
	}
	for a := 0; a < 4; a++ {
		for b := 0; b < 4; b++ {
			t.outOffs[a*4+b] = a*l.ow + b
		}
	}
	in, out := l.c*l.h*l.w, l.Out*l.oh*l.ow
	for ln := 0; ln < tensor.WinoLanes; ln++ {
		tile := grp*tensor.WinoLanes + ln
		if tile >= ne*g.tpi {
			break
		}
		t.tilesUsed++
		e, tt := tile/g.tpi, tile%g.tpi
		ti, tj := tt/g.tw, tt%g.tw
		i0, j0 := 4*ti-1, 4*tj-1
		t.in[ln] = int32(e*in + i0*l.w + j0)
		t.out[ln] = int32(e*out + 4*ti*l.ow + 4*tj)
		bit := uint16(1) << ln
		for r := 0; r < 6; r++ {
			for s := 0; s < 6; s++ {
				if i := i0 + r; i >= 0 && i < l.h {
					if j := j0 + s; j >= 0 && j < l.w {
						t.inMask[r*6+s] |= bit
					}
				}
			}
		}
		for a := 0; a < 4; a++ {
			for b := 0; b < 4; b++ {
				if 4*ti+a < l.oh && 4*tj+b < l.ow {
					t.outMask[a*4+b] |= bit
				}
			}
		}
	}
}

// rowOffsets writes into o where lane group grp starts in each of the 36 matrices of rows×ld (rows
// C or Out): the offsets of a chunk's V, M or Z for the transforms.
func (g *winoGeom) rowOffsets(o *[36]int, rows, grp int) {
	for xi := range o {
		o[xi] = xi*rows*g.ld + grp*tensor.WinoLanes
	}
}

// laneTables returns the lane tables of the groups of a chunk of ne examples, computed once per
// layer and chunk size (the layer keeps them; callers fetch them before their parallel work).
func (l *Conv2D) laneTables(g *winoGeom, ne int) []winoLanes {
	if tab, ok := l.wtab[ne]; ok {
		return tab
	}
	if l.wtab == nil {
		l.wtab = map[int][]winoLanes{}
	}
	tab := make([]winoLanes, (ne*g.tpi+tensor.WinoLanes-1)/tensor.WinoLanes)
	for grp := range tab {
		l.lanes(&tab[grp], g, grp, ne)
	}
	l.wtab[ne] = tab
	return tab
}

// chunkTables returns the lane tables of chunk ci of n examples from those of full chunks
// and of the last one.
func (g *winoGeom) chunkTables(ci, n int, full, last []winoLanes) []winoLanes {
	if (ci+1)*g.per > n {
		return last
	}
	return full
}

// winoWeights writes the transformed weights U (36 rows of Out·C, row length g.ldu) of w.
func (l *Conv2D) winoWeights(u, w []float32, g *winoGeom, grad bool) {
	pairs := l.Out * l.c
	var idx [tensor.WinoLanes]int32
	for ln := range idx {
		idx[ln] = int32(9 * ln)
	}
	var rows [36]int
	for v := range rows {
		rows[v] = v * g.ldu
	}
	var taps [9]int
	for v := range taps {
		taps[v] = v
	}
	items := pairs / tensor.WinoLanes
	run := func(q0, n int, m uint16) {
		if n <= 0 {
			return
		}
		var mask [36]uint16
		for v := range mask {
			mask[v] = m
		}
		var tr, gr [36]int
		for v := range tr {
			tr[v] = rows[v] + q0*tensor.WinoLanes
		}
		for v := range taps {
			gr[v] = taps[v] + q0*tensor.WinoLanes*9
		}
		if grad { // u holds dU: write the 3×3 gradients into w
			tensor.WinoTransform(tensor.WinoWeightsGrad, w, u, &idx, mask[:9], gr[:9], tr[:], n, 9*tensor.WinoLanes, tensor.WinoLanes)
			return
		}
		tensor.WinoTransform(tensor.WinoWeights, u, w, &idx, mask[:9], tr[:], gr[:9], n, tensor.WinoLanes, 9*tensor.WinoLanes)
	}
	tensor.Parallel(items, 16, func(lo, hi int) { run(lo, hi-lo, 0xffff) })
	if rest := pairs - items*tensor.WinoLanes; rest > 0 {
		run(items, 1, uint16(1)<<rest-1)
	}
}

// winoPack packs the 36 transformed weight matrices U_ξ ([Out, C]), or their transposes, into
// pk, with U written to u (36·g.ldu floats of scratch, free again on return: PackedA keeps no
// reference to it).
func (l *Conv2D) winoPack(pk *[36]tensor.PackedA, u, w []float32, g *winoGeom, transpose bool) {
	u = u[:36*g.ldu]
	l.winoWeights(u, l.W.Of(w), g, false)
	tensor.Parallel(36, 1, func(lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			if transpose {
				pk[xi].Pack(true, l.c, l.Out, u[xi*g.ldu:], l.c) // U_ξᵀ
			} else {
				pk[xi].Pack(false, l.Out, l.c, u[xi*g.ldu:], l.c)
			}
		}
	})
}

// winoPacks holds the 36 packed U_ξ (or U_ξᵀ) of a call; shared by all layers, like the scratch.
var winoPackPool = sync.Pool{New: func() any { return new([36]tensor.PackedA) }}

// winoInput writes the transformed tiles V_ξ ([C, tiles], C·ld floats each) of the examples at
// x, a chunk with lane tables tab: as rows of ld (nr = 0), or as the GEMM's B panels of nr
// columns (tensor.GemmSerialPanels).
func (l *Conv2D) winoInput(v, x []float32, g *winoGeom, tab []winoLanes, nr int) {
	var dst [36]int
	step := g.ld
	if nr > 0 {
		step = nr
	}
	for grp := range tab {
		t := &tab[grp]
		g.rowOffsets(&dst, l.c, grp)
		if col := grp * tensor.WinoLanes; nr > 0 {
			for xi := range dst {
				dst[xi] = xi*l.c*g.ld + col/nr*l.c*nr + col%nr
			}
		}
		// A lane's corner offset lies a row and a column before its tile's first pixel (it
		// may be negative); every unmasked value's offset is inside the images.
		tensor.WinoTransform(tensor.WinoInput, v, x, &t.in, t.inMask[:], dst[:], t.inOffs[:], l.c, step, l.h*l.w)
	}
}

// winoForward is forward for Winograd layers. With pool (2×2 max pooling after the ReLU) the
// chunk's output goes to a per-thread buffer and only its pooled values and their arg-max
// positions are written, as in forward.
func (l *Conv2D) winoForward(w, x []float32, n int, relu bool, pool *Pool2D) []float32 {
	g := l.winoGeom(n)
	p, in, out := l.oh*l.ow, l.c*l.h*l.w, l.Out*l.oh*l.ow
	var pout int
	if pool != nil {
		pout = pool.prepare(n)
		l.yb = pool.y
	} else {
		l.y = grow(l.y, n*out)
		l.yb = l.y
	}
	per := 36 * (l.c + l.Out) * g.ld // each thread's V and M of a chunk (and its output, pooled)
	if pool != nil {
		per += g.per*out + poolPad
	}
	threads := tensor.Threads() // read once: the scratch has a part per slot
	scratch := getScratch(max(threads*per, 36*g.ldu))
	defer putScratch(scratch)
	work := *scratch
	pk := winoPackPool.Get().(*[36]tensor.PackedA)
	defer winoPackPool.Put(pk)
	l.winoPack(pk, work, w, &g, false) // U in the threads' space, before they use it
	var b []float32
	if !l.NoBias {
		b = l.B.Of(w)
	}
	chunks := (n + g.per - 1) / g.per
	full, last := l.laneTables(&g, g.per), l.laneTables(&g, n-(chunks-1)*g.per)
	nr, kmax := tensor.PanelWidth(l.Out)
	if nr%tensor.WinoLanes != 0 || l.c > kmax {
		nr = 0 // the portable kernel's panels, or C beyond one k-block: rows, packed by the GEMM
	}
	tensor.ParallelSlotsOn(threads, chunks, 1, func(slot, lo, hi int) {
		buf := work[slot*per : (slot+1)*per]
		v, m := buf[:36*l.c*g.ld], buf[36*l.c*g.ld:36*(l.c+l.Out)*g.ld]
		for ci := lo; ci < hi; ci++ {
			e0, e1 := ci*g.per, min((ci+1)*g.per, n)
			ne := e1 - e0
			cols := ne * g.tpi
			tab := g.chunkTables(ci, n, full, last)
			l.winoInput(v, x[e0*in:e1*in], &g, tab, nr)
			for xi := 0; xi < 36; xi++ {
				if nr > 0 { // V_ξ written as B panels: no packing
					tensor.GemmSerialPanels(&pk[xi], v[xi*l.c*g.ld:(xi+1)*l.c*g.ld], cols, 0, m[xi*l.Out*g.ld:], g.ld)
				} else {
					tensor.GemmSerialPacked(&pk[xi], false, cols, 1, v[xi*l.c*g.ld:], g.ld, 0, m[xi*l.Out*g.ld:], g.ld)
				}
			}
			var y, yp []float32
			if pool != nil {
				yp = buf[36*(l.c+l.Out)*g.ld:] // ne examples' outputs and poolPad floats
				y = yp[:ne*out]
			} else {
				y = l.y[e0*out : e1*out]
			}
			var src [36]int
			for grp := range tab {
				t := &tab[grp]
				g.rowOffsets(&src, l.Out, grp)
				tensor.WinoTransform(tensor.WinoOutput, y, m, &t.out, t.outMask[:], t.outOffs[:], src[:], l.Out, p, g.ld)
			}
			if b != nil || relu {
				for e := 0; e < ne; e++ {
					for o := 0; o < l.Out; o++ {
						bias := float32(0)
						if b != nil {
							bias = b[o]
						}
						tensor.AddBias(y[e*out+o*p:e*out+(o+1)*p], bias, relu)
					}
				}
			}
			if pool != nil {
				for e := e0; e < e1; e++ { // the padding after the last example's block is the buffer's
					pool.max2x2Padded(yp[(e-e0)*out:], pool.y[e*pout:(e+1)*pout], pool.arg[e*pout:(e+1)*pout])
				}
			}
		}
	})
	if pool != nil {
		return pool.y
	}
	return l.y
}

// winoBackward is Backward for Winograd layers.
func (l *Conv2D) winoBackward(w, g []float32, dy []float32, n int, needDX bool) []float32 {
	geo := l.winoGeom(n)
	p, in, out := l.oh*l.ow, l.c*l.h*l.w, l.Out*l.oh*l.ow
	chunks := (n + geo.per - 1) / geo.per
	// At most 8 groups, each with its own partial dU, within 32 MiB in all.
	gmax := max(1, min(8, (32<<20)/(4*36*geo.ldu)))
	cpg := (chunks + min(chunks, gmax) - 1) / min(chunks, gmax)
	groups := (chunks + cpg - 1) / cpg
	nb := 0
	if !l.NoBias {
		nb = l.Out
	}
	psz := 36*geo.ldu + nb
	partBuf := getScratch(groups * psz)
	defer putScratch(partBuf)
	parts := *partBuf
	per := 36*(l.c+l.Out)*geo.ld + geo.per*out // each thread's V, Z and output gradients of a chunk
	threads := tensor.Threads()                // read once: the scratch has a part per slot
	scratch := getScratch(max(threads*per, 36*geo.ldu))
	defer putScratch(scratch)
	work := *scratch
	var pk *[36]tensor.PackedA
	if needDX {
		l.dx = grow(l.dx, n*in)
		pk = winoPackPool.Get().(*[36]tensor.PackedA)
		defer winoPackPool.Put(pk)
		l.winoPack(pk, work, w, &geo, true) // U in the threads' space, before they use it
	}
	full, last := l.laneTables(&geo, geo.per), l.laneTables(&geo, n-(chunks-1)*geo.per)
	tensor.ParallelSlotsOn(threads, groups, 1, func(slot, lo, hi int) {
		buf := work[slot*per : (slot+1)*per]
		v, z := buf[:36*l.c*geo.ld], buf[36*l.c*geo.ld:36*(l.c+l.Out)*geo.ld]
		d := buf[36*(l.c+l.Out)*geo.ld:]
		for gi := lo; gi < hi; gi++ {
			part := parts[gi*psz : (gi+1)*psz]
			du, gb := part[:36*geo.ldu], part[36*geo.ldu:]
			clear(gb)
			for ci := gi * cpg; ci < min((gi+1)*cpg, chunks); ci++ {
				e0, e1 := ci*geo.per, min((ci+1)*geo.per, n)
				ne := e1 - e0
				cols := ne * geo.tpi
				tab := geo.chunkTables(ci, n, full, last)
				// The output gradient: dy itself, or (ReLU, pooling) what reaches the output in d.
				var dc []float32
				if l.relu || l.pool != nil {
					dc = d[:ne*out]
					for e := e0; e < e1; e++ {
						l.outGrad(dy, e, d[(e-e0)*out:(e-e0+1)*out], 0, p)
					}
				} else {
					dc = dy[e0*out : e1*out]
				}
				if nb > 0 {
					for e := 0; e < ne; e++ {
						rowSums(gb, dc[e*out:(e+1)*out], p, p)
					}
				}
				var dst [36]int
				for grp := range tab {
					t := &tab[grp]
					geo.rowOffsets(&dst, l.Out, grp)
					tensor.WinoTransform(tensor.WinoOutputGrad, z, dc, &t.out, t.outMask[:], dst[:], t.outOffs[:], l.Out, geo.ld, p)
				}
				l.winoInput(v, l.x[e0*in:e1*in], &geo, tab, 0)
				beta := float32(1)
				if ci == gi*cpg {
					beta = 0
				}
				for xi := 0; xi < 36; xi++ {
					zx, vx := z[xi*l.Out*geo.ld:], v[xi*l.c*geo.ld:]
					tensor.GemmSerial(false, true, l.Out, l.c, cols, 1, zx, geo.ld, vx, geo.ld, beta, du[xi*geo.ldu:], l.c)
					if needDX {
						tensor.GemmSerialPacked(&pk[xi], false, cols, 1, zx, geo.ld, 0, vx, geo.ld)
					}
				}
				if !needDX {
					continue
				}
				dx := l.dx[e0*in : e1*in]
				clear(dx)
				var src [36]int
				for grp := range tab {
					t := &tab[grp]
					geo.rowOffsets(&src, l.c, grp)
					tensor.WinoTransform(tensor.WinoInputGrad, dx, v, &t.in, t.inMask[:], t.inOffs[:], src[:], l.c, l.h*l.w, geo.ld)
				}
			}
		}
	})
	sum := parts[:psz]
	tensor.Parallel(psz, 1<<14, func(lo, hi int) {
		for gi := 1; gi < groups; gi++ {
			tensor.Axpy(1, parts[gi*psz+lo:gi*psz+hi], sum[lo:hi])
		}
	})
	l.winoWeights(sum[:36*geo.ldu], l.W.Of(g), &geo, true)
	if nb > 0 {
		copy(l.B.Of(g), sum[36*geo.ldu:])
	}
	if !needDX {
		return nil
	}
	return l.dx
}
