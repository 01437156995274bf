package sharpness

import (
	"fmt"
	"math"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/param"
)

// Exact Hessian-vector products for every model of package nn (convolutions, pooling, BatchNorm
// and residual blocks included), in evaluation mode, by Pearlmutter's R-operator. Each layer is
// a node with four passes over a batch:
//
//	forward    y = f(x; w)
//	backward   dx from dy (the loss gradient at the layer's output)
//	rforward   R(y) = ∂y/∂x·R(x) + ∂y/∂w·v
//	rbackward  R(dx), and the layer's part of H·v: R(∂L/∂w)
//
// Dense and convolution layers are bilinear in (input, weights) plus a bias, so their R-passes
// are the layer's own Forward and Backward run with the direction v as weights or with R(x) as
// input. BatchNorm in evaluation mode is a per-channel affine map; max pooling is linear given
// its arg-max (nn.Pool2D.Tangent); activations are element-wise.

// Inputs (x, R(x)) are kept by reference: each is the previous node's own output buffer (or the
// batch), which stays unchanged until the next product. Outputs are the nodes' own copies, since
// an nn layer reuses its buffers on every call.
type rnode interface {
	forward(w, x []float32, n int) []float32
	backward(w, g, dy []float32, n int, needDX bool) []float32
	rforward(w, v, rx []float32, n int, first bool) []float32
	rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32
}

var evalCtx = &nn.Ctx{}

// rseq is a chain of nodes; it keeps the gradient entering each node for the R-backward pass.
type rseq struct {
	nodes   []rnode
	ds      [][]float32 // ds[i]: dL/d(output of node i)
	twins   []nn.Layer  // the layers the nodes' twins come from (nil: none)
	scratch *[]float32  // a model-sized gradient buffer, shared by the nodes (each uses it in passing)
}

// buildSeq makes the nodes of layers. twins, when not nil, are the same layers of a second
// instance of the model (same parameter spans): a dense or convolution node runs its R-input
// pass on its twin, so that each layer instance keeps the saved state (input, im2col columns) of
// one input, x or R(x), and neither has to be recomputed.
func buildSeq(layers, twins []nn.Layer) (*rseq, error) {
	return buildSeqWith(layers, twins, new([]float32))
}

// buildSeqWith is buildSeq with the nodes' shared gradient buffer.
func buildSeqWith(layers, twins []nn.Layer, scratch *[]float32) (*rseq, error) {
	s := &rseq{twins: twins, scratch: scratch}
	twin := func(i int) nn.Layer {
		if twins == nil {
			return nil
		}
		return twins[i]
	}
	for i, l := range layers {
		switch l := l.(type) {
		case *nn.Dense:
			s.nodes = append(s.nodes, &bilinear{l: l, twin: twin(i), w: l.W, b: l.B, bias: !l.NoBias, scratch: scratch})
		case *nn.Conv2D:
			s.nodes = append(s.nodes, &bilinear{l: l, twin: twin(i), w: l.W, b: l.B, bias: !l.NoBias, scratch: scratch})
		case *nn.Activation:
			s.nodes = append(s.nodes, &actNode{f: l.Func})
		case *nn.Dropout:
			// Evaluation mode: the identity.
		case *nn.BatchNorm:
			s.nodes = append(s.nodes, &bnNode{l: l})
		case *nn.Pool2D:
			s.nodes = append(s.nodes, &poolNode{l: l})
		case *nn.Residual:
			var tb, ts []nn.Layer
			if tw, ok := twin(i).(*nn.Residual); ok {
				tb, ts = tw.Body, tw.Short
			}
			body, err := buildSeqWith(l.Body, tb, scratch)
			if err != nil {
				return nil, err
			}
			short, err := buildSeqWith(l.Short, ts, scratch)
			if err != nil {
				return nil, err
			}
			s.nodes = append(s.nodes, &resNode{body: body, short: short, linear: l.Linear})
		default:
			return nil, fmt.Errorf("%w for layer %T", ErrUnsupported, l)
		}
	}
	s.ds = make([][]float32, len(s.nodes))
	return s, nil
}

func (s *rseq) forward(w, x []float32, n int) []float32 {
	for _, nd := range s.nodes {
		x = nd.forward(w, x, n)
	}
	return x
}

func (s *rseq) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		s.ds[i] = dy // the next node's own buffer (or the loss gradient), stable until the next product
		dy = s.nodes[i].backward(w, g, dy, n, needDX || i > 0)
	}
	return dy
}

func (s *rseq) rforward(w, v, rx []float32, n int, first bool) []float32 {
	for i, nd := range s.nodes {
		rx = nd.rforward(w, v, rx, n, first && i == 0)
	}
	return rx
}

func (s *rseq) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	for i := len(s.nodes) - 1; i >= 0; i-- {
		rdy = s.nodes[i].rbackward(w, v, hv, s.ds[i], rdy, n, first && i == 0, needDX || i > 0)
	}
	return rdy
}

// bilinear is a dense or convolution layer: y = f(x, W) + b with f bilinear.
type bilinear struct {
	l          nn.Layer
	twin       nn.Layer // nil, or the same layer of a second model instance: it keeps R(x)'s state
	w, b       param.Span
	bias       bool
	x, rx      []float32 // the input and R(input) of the last forward / rforward
	y, ry, dx  []float32
	rdx, saveB []float32
	scratch    *[]float32 // a model-sized gradient buffer (only this layer's spans are used)
}

func (b *bilinear) forward(w, x []float32, n int) []float32 {
	b.x = x
	b.y = append(b.y[:0], b.l.Forward(evalCtx, w, b.x, n)...)
	return b.y
}

// The layer's saved state (its input, or im2col columns) is that of its last Forward call; the
// passes below rely on the order forward, backward, rforward, rbackward, each visiting every
// layer once, so that state is the one each pass needs wherever it is not re-made.

func (b *bilinear) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	dx := b.l.Backward(evalCtx, w, g, dy, n, needDX) // state: x, from forward
	b.dx = append(b.dx[:0], dx...)
	return b.dx
}

// withoutBias runs f with the layer's bias in w set to zero.
func (b *bilinear) withoutBias(w []float32, f func()) {
	if !b.bias {
		f()
		return
	}
	bw := b.b.Of(w)
	b.saveB = append(b.saveB[:0], bw...)
	clear(bw)
	defer copy(bw, b.saveB)
	f()
}

// rforward: R(y) = f(R(x), W) + f(x, V) + V_b; it leaves the state of R(x) (of x for the first
// layer).
func (b *bilinear) rforward(w, v, rx []float32, n int, first bool) []float32 {
	b.ry = append(b.ry[:0], b.l.Forward(evalCtx, v, b.x, n)...)
	if !first {
		b.rx = rx
		lr := b.l
		if b.twin != nil {
			lr = b.twin // b.l keeps the state of x
		}
		b.withoutBias(w, func() {
			for i, t := range lr.Forward(evalCtx, w, b.rx, n) {
				b.ry[i] += t
			}
		})
	}
	return b.ry
}

// rbackward: R(∂L/∂W) = f_W(R(dy), x) + f_W(dy, R(x)), R(∂L/∂b) = Σ R(dy),
// R(dx) = f_x(R(dy), W) + f_x(dy, V). Backward's weight gradient depends only on the saved input,
// its input gradient only on the weights it is given.
func (b *bilinear) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	if len(*b.scratch) < len(w) {
		*b.scratch = make([]float32, len(w))
	}
	scratch := *b.scratch
	if !first {
		// State: R(x), from rforward. f_W(dy, R(x)) into scratch, f_x(dy, V).
		lr := b.l
		if b.twin != nil {
			lr = b.twin
		}
		dx := lr.Backward(evalCtx, v, scratch, dy, n, needDX)
		if needDX {
			b.rdx = append(b.rdx[:0], dx...)
		}
		if b.twin == nil {
			b.l.Forward(evalCtx, w, b.x, n) // back to the state of x
		}
	}
	// State: x. f_W(R(dy), x) and Σ R(dy) into hv, f_x(R(dy), W).
	dx := b.l.Backward(evalCtx, w, hv, rdy, n, needDX)
	if first {
		// R(x) = 0; the input gradient of the first layer is never needed.
		return nil
	}
	hw, sw := b.w.Of(hv), b.w.Of(scratch)
	for i, t := range sw {
		hw[i] += t
	}
	if !needDX {
		return nil
	}
	for i, t := range dx {
		b.rdx[i] += t
	}
	return b.rdx
}

// actNode is an element-wise activation.
type actNode struct {
	f         string
	y, dx, ry []float32
	rx, rdx   []float32
}

func (a *actNode) forward(w, x []float32, n int) []float32 {
	a.y = grow(a.y, len(x))
	activate(a.f, x, a.y)
	return a.y
}

func (a *actNode) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	a.dx = grow(a.dx, len(dy))
	dact(a.f, a.y, dy, a.dx)
	return a.dx
}

func (a *actNode) rforward(w, v, rx []float32, n int, first bool) []float32 {
	a.rx = rx
	a.ry = grow(a.ry, len(rx))
	dact(a.f, a.y, a.rx, a.ry)
	return a.ry
}

func (a *actNode) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	a.rdx = grow(a.rdx, len(rdy))
	rdback(a.f, a.y, dy, rdy, a.rx, a.rdx)
	return a.rdx
}

// bnNode is BatchNorm in evaluation mode: y = γ·x̂ + β with x̂ = (x − μ)/σ per channel, μ and σ²
// the running averages.
type bnNode struct {
	l              *nn.BatchNorm
	x, y           []float32
	rx, ry, rdx    []float32
	invstd         []float32
	channels, size int
}

func (b *bnNode) stats(x []float32, n int) {
	b.channels = b.l.G.Size()
	b.size = len(x) / (n * b.channels) // H·W
	b.invstd = grow(b.invstd, b.channels)
	for c := range b.invstd {
		b.invstd[c] = float32(1 / math.Sqrt(float64(b.l.Var[c])+b.l.Eps))
	}
}

// each calls f(c, lo, hi) for every channel block of n examples.
func (b *bnNode) each(n int, f func(c, lo, hi int)) {
	for e := range n {
		for c := range b.channels {
			lo := (e*b.channels + c) * b.size
			f(c, lo, lo+b.size)
		}
	}
}

func (b *bnNode) forward(w, x []float32, n int) []float32 {
	b.stats(x, n)
	b.x = x
	b.y = append(b.y[:0], b.l.Forward(evalCtx, w, b.x, n)...)
	return b.y
}

// backward is the layer's own (evaluation mode: the statistics are constants); its state is x's,
// from forward, and the node's R-passes never call the layer, so its dx stays valid.
func (b *bnNode) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	return b.l.Backward(evalCtx, w, g, dy, n, needDX)
}

// R(y) = γ·R(x)/σ + V_γ·x̂ + V_β.
func (b *bnNode) rforward(w, v, rx []float32, n int, first bool) []float32 {
	gam, vg, vb := b.l.G.Of(w), b.l.G.Of(v), b.l.B.Of(v)
	b.rx = rx
	b.ry = grow(b.ry, len(rx))
	b.each(n, func(c, lo, hi int) {
		mu, is := b.l.Mean[c], b.invstd[c]
		for i := lo; i < hi; i++ {
			b.ry[i] = gam[c]*is*b.rx[i] + vg[c]*(b.x[i]-mu)*is + vb[c]
		}
	})
	return b.ry
}

// R(∂L/∂γ) = Σ R(dy)·x̂ + dy·R(x)/σ, R(∂L/∂β) = Σ R(dy), R(dx) = (R(dy)·γ + dy·V_γ)/σ.
func (b *bnNode) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	gam, vg := b.l.G.Of(w), b.l.G.Of(v)
	hg, hb := b.l.G.Of(hv), b.l.B.Of(hv)
	clear(hg)
	clear(hb)
	b.rdx = grow(b.rdx, len(rdy))
	b.each(n, func(c, lo, hi int) {
		mu, is := b.l.Mean[c], b.invstd[c]
		for i := lo; i < hi; i++ {
			hg[c] += rdy[i]*(b.x[i]-mu)*is + dy[i]*b.rx[i]*is
			hb[c] += rdy[i]
			b.rdx[i] = (rdy[i]*gam[c] + dy[i]*vg[c]) * is
		}
	})
	return b.rdx
}

// poolNode is max or average pooling: linear given the arg-max of each window.
type poolNode struct {
	l        *nn.Pool2D
	x, y, dx []float32
	ry       []float32
}

func (p *poolNode) forward(w, x []float32, n int) []float32 {
	p.x = x
	p.y = append(p.y[:0], p.l.Forward(evalCtx, w, p.x, n)...)
	return p.y
}

func (p *poolNode) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	p.dx = append(p.dx[:0], p.l.Backward(evalCtx, w, g, dy, n, true)...)
	return p.dx
}

func (p *poolNode) rforward(w, v, rx []float32, n int, first bool) []float32 {
	p.ry = append(p.ry[:0], p.l.Tangent(rx, n)...)
	return p.ry
}

func (p *poolNode) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	return p.l.Backward(evalCtx, w, nil, rdy, n, true) // read once, by the node before
}

// resNode is a residual block y = relu(body(x) + shortcut(x)), or body(x) + shortcut(x) when
// linear (an empty shortcut is x).
type resNode struct {
	body, short *rseq
	linear      bool
	y, dz, rdz  []float32
	dx, ry, rdx []float32
}

func (r *resNode) forward(w, x []float32, n int) []float32 {
	b := r.body.forward(w, x, n)
	s := x
	if len(r.short.nodes) > 0 {
		s = r.short.forward(w, x, n)
	}
	r.y = grow(r.y, len(b))
	for i, t := range b {
		r.y[i] = t + s[i]
		if !r.linear {
			r.y[i] = max(r.y[i], 0)
		}
	}
	return r.y
}

// mask multiplies d by the derivative of the block's output activation (1 when linear).
func (r *resNode) mask(d, dst []float32) []float32 {
	dst = grow(dst, len(d))
	if r.linear {
		copy(dst, d)
		return dst
	}
	for i, t := range d {
		if r.y[i] > 0 {
			dst[i] = t
		} else {
			dst[i] = 0
		}
	}
	return dst
}

func (r *resNode) join(a, b, dst []float32) []float32 {
	dst = grow(dst, len(a))
	for i, t := range a {
		dst[i] = t + b[i]
	}
	return dst
}

func (r *resNode) backward(w, g, dy []float32, n int, needDX bool) []float32 {
	r.dz = r.mask(dy, r.dz)
	db := r.body.backward(w, g, r.dz, n, true)
	ds := r.dz
	if len(r.short.nodes) > 0 {
		ds = r.short.backward(w, g, r.dz, n, true)
	}
	r.dx = r.join(db, ds, r.dx)
	return r.dx
}

func (r *resNode) rforward(w, v, rx []float32, n int, first bool) []float32 {
	rb := r.body.rforward(w, v, rx, n, false)
	rs := rx
	if len(r.short.nodes) > 0 {
		rs = r.short.rforward(w, v, rx, n, false)
	}
	r.ry = r.mask(r.join(rb, rs, r.ry), r.ry)
	return r.ry
}

func (r *resNode) rbackward(w, v, hv, dy, rdy []float32, n int, first, needDX bool) []float32 {
	r.dz = r.mask(dy, r.dz)
	r.rdz = r.mask(rdy, r.rdz)
	rb := r.body.rbackward(w, v, hv, r.dz, r.rdz, n, false, true)
	rs := r.rdz
	if len(r.short.nodes) > 0 {
		rs = r.short.rbackward(w, v, hv, r.dz, r.rdz, n, false, true)
	}
	r.rdx = r.join(rb, rs, r.rdx)
	return r.rdx
}
