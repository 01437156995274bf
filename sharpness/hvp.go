package sharpness

import (
	"errors"
	"fmt"
	"math"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Operator is a symmetric linear map on ℝⁿ, such as a Hessian.
type Operator interface {
	// Dim is n.
	Dim() int
	// Mul overwrites dst with the product of the operator and v.
	Mul(dst, v []float64)
}

// Method selects how Hessian-vector products are computed.
type Method int

const (
	// Auto uses Exact when the model supports it and FiniteDiff otherwise.
	Auto Method = iota
	// Exact is forward-over-reverse differentiation (Pearlmutter's R-operator).
	Exact
	// FiniteDiff is the central difference (∇L(w+hv) − ∇L(w−hv)) / 2h of float64-accumulated
	// gradients, with the step h of FDStep.
	FiniteDiff
)

func (m Method) String() string {
	switch m {
	case Auto:
		return "auto"
	case Exact:
		return "exact"
	case FiniteDiff:
		return "finite-difference"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ErrUnsupported is returned (wrapped) when exact products are asked for a model with a layer
// or loss the R-operator does not know.
var ErrUnsupported = errors.New("exact Hessian-vector products not supported")

// CacheLimit is the default memory budget (bytes) of a Hessian for the forward and backward
// passes at w that it keeps across products, one set per batch of the objective (Objective.Cache
// overrides it). Batches beyond the budget are recomputed for every product.
var CacheLimit int64 = 2 << 30

// Hessian is the Hessian of an Objective's loss at fixed weights w, as an Operator.
type Hessian struct {
	obj    *Objective
	w      []float32
	method Method
	curv   Curvature

	// exact
	ops    []rop
	loss   nn.Loss
	slots  int // rstates: batch b < slots−1 has its own, the others share the last
	states []*rstate
	r      rbufs
	v32    []float32
	hv32   []float32

	// exact, any other model (rgeneric.go, gcache.go)
	seq      *rseq
	gen      []*genState // per batch: the nodes holding its passes at w (shared beyond the budget)
	genBytes int64       // memory measured for the batches with their own model instance
	genSizes []int64     // that of each instance, in the order they were made
	genFull  bool        // the budget is spent: later batches share gen[0]
	warm     bool        // every batch's forward and backward passes at w are kept
	gscratch []float32
	grd      []float32

	// finite differences
	wp    []float32
	g1    []float64
	g2    []float64
	wnorm float64

	// Products counts the Hessian-vector products computed so far.
	Products int
}

// NewHessian returns the Hessian of o's loss at w. The weights are copied.
func NewHessian(o *Objective, w []float32, method Method) (*Hessian, error) {
	if len(w) != o.Dim() {
		return nil, fmt.Errorf("sharpness: %d weights, the model has %d parameters", len(w), o.Dim())
	}
	h := &Hessian{obj: o, w: append([]float32(nil), w...), method: method}
	if method == Auto || method == Exact {
		ops, err := buildOps(o.Model)
		if err != nil {
			// Not a plain dense network: the generic R-operator of rgeneric.go.
			seq, gerr := buildGeneric(o.Model)
			if gerr != nil && method == Exact {
				return nil, gerr
			}
			if gerr == nil {
				h.method, h.seq, h.loss = Exact, seq, o.Model.Loss
				h.v32 = make([]float32, o.Dim())
				h.hv32 = make([]float32, o.Dim())
				h.gscratch = make([]float32, o.Dim())
				return h, nil
			}
		}
		if err == nil {
			h.method = Exact
			h.ops, h.loss = ops, o.Model.Loss
			h.v32 = make([]float32, o.Dim())
			h.hv32 = make([]float32, o.Dim())
			var per int64 // cached bytes per example: outputs and gradients of every op
			for _, op := range ops {
				per += 2 * 4 * int64(op.out)
			}
			nb := (o.N() + o.batch() - 1) / o.batch()
			h.slots = int(min(int64(nb), max(1, o.cacheLimit()/(per*int64(min(o.batch(), o.N()))))))
			return h, nil
		}
	}
	h.method = FiniteDiff
	h.wp = make([]float32, len(w))
	h.g1 = make([]float64, len(w))
	h.g2 = make([]float64, len(w))
	h.wnorm = math.Sqrt(tensor.SumSq64(w))
	return h, nil
}

// Method reports how products are computed (Exact or FiniteDiff, never Auto).
func (h *Hessian) Method() Method { return h.method }

// Dim implements Operator.
func (h *Hessian) Dim() int { return len(h.w) }

// Mul implements Operator: dst = H v.
func (h *Hessian) Mul(dst, v []float64) {
	h.Products++
	if h.method == FiniteDiff {
		h.mulFD(dst, v)
		return
	}
	if h.seq != nil {
		h.mulGeneric(dst, v)
		return
	}
	h.mulExact(dst, v)
}

// buildGeneric returns the R-operator nodes of any model whose layers and loss it knows.
func buildGeneric(m *nn.Model) (*rseq, error) {
	switch m.Loss.(type) {
	case nn.SoftmaxCrossEntropy, nn.MSE, nn.BCEWithLogits:
	default:
		return nil, fmt.Errorf("%w for loss %T", ErrUnsupported, m.Loss)
	}
	// A second instance of the model, when the spec rebuilds it with the same layout, gives the
	// nodes their twins.
	var twins []nn.Layer
	if tm, err := nn.Build(m.Spec); err == nil && tm.Layout.String() == m.Layout.String() && len(tm.Layers) == len(m.Layers) {
		twins = tm.Layers
	}
	seq, err := buildSeq(m.Layers, twins)
	if err != nil {
		return nil, err
	}
	if len(seq.nodes) == 0 {
		return nil, fmt.Errorf("%w: a model without layers", ErrUnsupported)
	}
	if _, ok := seq.nodes[0].(*bilinear); !ok {
		return nil, fmt.Errorf("%w: the first layer must be dense or a convolution", ErrUnsupported)
	}
	return seq, nil
}

// mulGeneric is mulExact for any model: per batch, a forward and a backward pass at w, then
// the R-forward and R-backward passes along v. The passes at w are made once per batch, for
// the first product, and kept while the memory budget allows (gcache.go); batches beyond it
// share one set of nodes and make them again at every product.
func (h *Hessian) mulGeneric(dst, v []float64) {
	toFloat32(h.v32, v)
	clear(dst)
	o := h.obj
	N, k := float64(o.N()), o.Model.Spec.Outputs
	o.batches(0, o.N(), func(lo, hi int, x []float32, t nn.Target) {
		n, b := hi-lo, lo/o.batch()
		fresh := b >= len(h.gen)
		var before uint64
		if fresh {
			before = totalAlloc()
			h.addGen(b)
		}
		g := h.gen[b]
		if g.owner != b {
			g.y = g.seq.forward(h.w, x, n)
			g.gd = grow(g.gd, n*k)
			h.loss.Eval(g.y, n, k, t, g.gd)
			g.dy = g.gd
			if h.curv != HessianCurvature {
				// Jᵀ M J v: the backward pass of M·(Jv) alone. With a zero gradient entering
				// it, the R-backward pass is exactly that (every term of the network's second
				// derivatives carries the back-propagated gradient as a factor).
				g.zero = grow(g.zero, n*k)
				clear(g.zero)
				g.dy = g.zero
			}
			g.seq.backward(h.w, h.gscratch, g.dy, n, false)
			// Every node's state at w (outputs, gradients, the layers' saved inputs) stays
			// valid until the nodes see another batch: the R-passes leave it as it is.
			g.owner = b
		}
		ry := g.seq.rforward(h.w, h.v32, nil, n, true)
		h.grd = grow(h.grd, n*k)
		h.outputCurv(g.y, g.gd, ry, h.grd, n, k)
		g.seq.rbackward(h.w, h.v32, h.hv32, g.dy, h.grd, n, true, false)
		accumulate(dst, h.hv32, float64(n)/N)
		if fresh && b > 0 && g != h.gen[0] {
			h.account(b, int64(totalAlloc()-before))
		}
	})
	// Warm: every batch's passes at w are kept for the next product.
	h.warm = true
	for b, g := range h.gen {
		h.warm = h.warm && g.owner == b
	}
}

// FDStep is the finite-difference step h for a direction of norm vnorm at weights of norm
// wnorm: h·‖v‖ = ∛(float32 ε)·max(1, ‖w‖)/4 ≈ 1.2e-3·max(1, ‖w‖), which balances the
// O(h²) truncation error of the central difference against float32 rounding of the gradients.
func FDStep(wnorm, vnorm float64) float64 {
	return math.Cbrt(0x1p-23) * max(1, wnorm) / 4 / vnorm
}

func (h *Hessian) mulFD(dst, v []float64) {
	var vn float64
	for _, x := range v {
		vn += x * x
	}
	vn = math.Sqrt(vn)
	if vn == 0 {
		clear(dst)
		return
	}
	step := FDStep(h.wnorm, vn)
	for i, x := range h.w {
		h.wp[i] = float32(float64(x) + step*v[i])
	}
	h.obj.LossGrad(h.wp, h.g1)
	for i, x := range h.w {
		h.wp[i] = float32(float64(x) - step*v[i])
	}
	h.obj.LossGrad(h.wp, h.g2)
	// Divide by the step actually taken: rounding w±hv to float32 changes it slightly, so use the
	// realised difference along v.
	var num, den float64
	for i, x := range h.w {
		dp := float64(float32(float64(x)+step*v[i])) - float64(float32(float64(x)-step*v[i]))
		num += dp * v[i]
		den += v[i] * v[i]
	}
	twoH := num / den
	if twoH == 0 {
		twoH = 2 * step
	}
	for i := range dst {
		dst[i] = (h.g1[i] - h.g2[i]) / twoH
	}
}

// rop is one stage of the R-operator's chain: a dense layer or an element-wise activation.
type rop struct {
	dense   bool
	w, b    param.Span // dense
	hasBias bool
	in, out int
	act     string // activation
}

func buildOps(m *nn.Model) ([]rop, error) {
	var ops []rop
	in := m.InDim()
	for _, l := range m.Layers {
		switch l := l.(type) {
		case *nn.Dense:
			op := rop{dense: true, w: l.W, b: l.B, hasBias: !l.NoBias, in: l.W.Shape[1], out: l.W.Shape[0]}
			if op.in != in {
				return nil, fmt.Errorf("%w: dense layer %s expects %d inputs, gets %d", ErrUnsupported, l.W.Name, op.in, in)
			}
			ops = append(ops, op)
			in = op.out
		case *nn.Activation:
			ops = append(ops, rop{act: l.Func, in: in, out: in})
		case *nn.Dropout:
			// Evaluation mode: the identity.
		default:
			return nil, fmt.Errorf("%w for layer %T", ErrUnsupported, l)
		}
	}
	switch m.Loss.(type) {
	case nn.SoftmaxCrossEntropy, nn.MSE, nn.BCEWithLogits:
	default:
		return nil, fmt.Errorf("%w for loss %T", ErrUnsupported, m.Loss)
	}
	if len(ops) == 0 || !ops[0].dense {
		return nil, fmt.Errorf("%w: the first layer must be dense", ErrUnsupported)
	}
	return ops, nil
}

// rstate holds the forward outputs y[i] of each op and the loss gradients d[i] = ∂L/∂y[i] for
// one batch, at w.
type rstate struct {
	lo, hi int
	x      []float32
	t      nn.Target
	y, d   [][]float32
	dout   []float32
	done   bool
}

// rbufs are the direction-dependent buffers: ry[i] = R(y[i]), rd[i] = R(d[i]).
type rbufs struct {
	ry, rd [][]float32
	part   []float32 // colSums scratch
}

func (h *Hessian) state(lo, hi int, x []float32, t nn.Target) *rstate {
	b := min(lo/h.obj.batch(), h.slots-1)
	for len(h.states) <= b {
		h.states = append(h.states, &rstate{})
	}
	s := h.states[b]
	if s.done && s.lo == lo && s.hi == hi {
		return s
	}
	s.lo, s.hi, s.x, s.t = lo, hi, x, t
	n := hi - lo
	if s.y == nil {
		s.y = make([][]float32, len(h.ops))
		s.d = make([][]float32, len(h.ops))
	}
	// Forward.
	in := x
	for i, op := range h.ops {
		s.y[i] = grow(s.y[i], n*op.out)
		y := s.y[i]
		if op.dense {
			tensor.Gemm(false, true, n, op.out, op.in, 1, in, op.in, op.w.Of(h.w), op.in, 0, y, op.out)
			if op.hasBias {
				addBias(y, op.b.Of(h.w), n)
			}
		} else {
			activate(op.act, in, y)
		}
		in = y
	}
	// Backward.
	last := len(h.ops) - 1
	k := h.ops[last].out
	s.d[last] = grow(s.d[last], n*k)
	h.loss.Eval(s.y[last], n, k, t, s.d[last])
	for i := last; i > 0; i-- {
		op := h.ops[i]
		s.d[i-1] = grow(s.d[i-1], n*op.in)
		if op.dense {
			tensor.Gemm(false, false, n, op.in, op.out, 1, s.d[i], op.out, op.w.Of(h.w), op.in, 0, s.d[i-1], op.in)
		} else {
			dact(op.act, s.y[i], s.d[i], s.d[i-1])
		}
	}
	s.done = true
	return s
}

func (h *Hessian) mulExact(dst, v []float64) {
	toFloat32(h.v32, v)
	clear(dst)
	o := h.obj
	N := float64(o.N())
	if h.r.ry == nil {
		h.r.ry = make([][]float32, len(h.ops))
		h.r.rd = make([][]float32, len(h.ops))
	}
	o.batches(0, o.N(), func(lo, hi int, x []float32, t nn.Target) {
		s := h.state(lo, hi, x, t)
		h.rBatch(s, hi-lo)
		accumulate(dst, h.hv32, float64(hi-lo)/N)
	})
}

// rBatch writes into h.hv32 the Hessian (of the batch-mean loss) times h.v32.
func (h *Hessian) rBatch(s *rstate, n int) {
	ops, r, v, w, hv := h.ops, &h.r, h.v32, h.w, h.hv32
	// R-forward: ry[i] = R(y[i]). A dense layer with a bias followed by a ReLU makes the ReLU's
	// R(y) = (ry + V_b) ⊙ mask in one pass, leaving its own ry without the bias: the ReLU is
	// its only reader.
	fused := false
	for i, op := range ops {
		r.ry[i] = grow(r.ry[i], n*op.out)
		ry := r.ry[i]
		if fused {
			fused = false
			continue
		}
		if op.dense {
			in := s.x
			if i > 0 {
				in = s.y[i-1]
			}
			tensor.Gemm(false, true, n, op.out, op.in, 1, in, op.in, op.w.Of(v), op.in, 0, ry, op.out)
			if i > 0 {
				tensor.Gemm(false, true, n, op.out, op.in, 1, r.ry[i-1], op.in, op.w.Of(w), op.in, 1, ry, op.out)
			}
			if op.hasBias && reluAt(ops, i+1) {
				r.ry[i+1] = grow(r.ry[i+1], n*op.out)
				parBiasMask(r.ry[i+1], ry, op.b.Of(v), s.y[i+1], n)
				fused = true
			} else if op.hasBias {
				parAddBias(ry, op.b.Of(v), n)
			}
		} else {
			parDact(op.act, s.y[i], r.ry[i-1], ry)
		}
	}
	// The loss: rd[last] = ∇²loss(z) R(z) (or the GGN's and Fisher's output matrix times R(z)).
	last := len(ops) - 1
	k := ops[last].out
	r.rd[last] = grow(r.rd[last], n*k)
	h.outputCurv(s.y[last], s.d[last], r.ry[last], r.rd[last], n, k)
	// GGN and Fisher: Jᵀ(M Jv) is the plain backward pass of rd; the terms with the
	// back-propagated gradient s.d are the network's second derivatives, which they leave out.
	gn := h.curv != HessianCurvature
	// R-backward. A ReLU after a dense layer with a bias sums the bias's part of H·v, the
	// columns of the R(gradient) it writes, in the same pass.
	summed := false
	for i := last; i >= 0; i-- {
		op := ops[i]
		if op.dense {
			in, rin := s.x, []float32(nil)
			if i > 0 {
				in, rin = s.y[i-1], r.ry[i-1]
			}
			gw := op.w.Of(hv)
			tensor.Gemm(true, false, op.out, op.in, n, 1, r.rd[i], op.out, in, op.in, 0, gw, op.in)
			if rin != nil && !gn {
				tensor.Gemm(true, false, op.out, op.in, n, 1, s.d[i], op.out, rin, op.in, 1, gw, op.in)
			}
			if op.hasBias && !summed {
				colSums(op.b.Of(hv), r.rd[i], n, &r.part)
			}
			summed = false
			if i > 0 {
				r.rd[i-1] = grow(r.rd[i-1], n*op.in)
				tensor.Gemm(false, false, n, op.in, op.out, 1, r.rd[i], op.out, op.w.Of(w), op.in, 0, r.rd[i-1], op.in)
				if !gn {
					tensor.Gemm(false, false, n, op.in, op.out, 1, s.d[i], op.out, op.w.Of(v), op.in, 1, r.rd[i-1], op.in)
				}
			}
		} else if i > 0 {
			// d_in = d_out ⊙ σ'(z):  R(d_in) = R(d_out) ⊙ σ'(z) + d_out ⊙ σ''(z) ⊙ R(z).
			r.rd[i-1] = grow(r.rd[i-1], n*op.in)
			if op.act == "relu" && ops[i-1].dense && ops[i-1].hasBias {
				maskColSums(r.rd[i-1], r.rd[i], s.y[i], ops[i-1].b.Of(hv), n, &r.part)
				summed = true
			} else if gn {
				parDact(op.act, s.y[i], r.rd[i], r.rd[i-1])
			} else {
				parRdback(op.act, s.y[i], s.d[i], r.rd[i], r.ry[i-1], r.rd[i-1])
			}
		}
	}
}

// reluAt reports whether ops[i] is a ReLU.
func reluAt(ops []rop, i int) bool { return i < len(ops) && !ops[i].dense && ops[i].act == "relu" }

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func addBias(y, b []float32, n int) {
	k := len(b)
	for r := range n {
		row := y[r*k : (r+1)*k]
		for j, bj := range b {
			row[j] += bj
		}
	}
}

func activate(f string, x, y []float32) {
	switch f {
	case "relu":
		for i, v := range x {
			y[i] = max(v, 0)
		}
	case "tanh":
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case "sigmoid":
		for i, v := range x {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

// d1 and d2 are σ'(z) and σ”(z) written in terms of y = σ(z).
func d1(f string, y float32) float32 {
	switch f {
	case "relu":
		if y > 0 {
			return 1
		}
		return 0
	case "tanh":
		return 1 - y*y
	}
	return y * (1 - y)
}

func d2(f string, y float32) float32 {
	switch f {
	case "tanh":
		return -2 * y * (1 - y*y)
	case "sigmoid":
		return y * (1 - y) * (1 - 2*y)
	}
	return 0
}

// dact: din = dout ⊙ σ'; also R(y) = σ' ⊙ R(z).
func dact(f string, y, dout, din []float32) {
	if f == "relu" {
		nn.ReLUMask(din, dout, y)
		return
	}
	switch f {
	case "tanh":
		for i, v := range dout {
			din[i] = v * (1 - y[i]*y[i])
		}
	default:
		for i, v := range dout {
			din[i] = v * (y[i] * (1 - y[i]))
		}
	}
}

func rdback(f string, y, dout, rdout, rz, rdin []float32) {
	if f == "relu" {
		dact(f, y, rdout, rdin)
		return
	}
	for i, v := range rdout {
		rdin[i] = v*d1(f, y[i]) + dout[i]*d2(f, y[i])*rz[i]
	}
}

// lossHess writes rd = ∇²_z loss · rz for the batch-mean loss of n rows of k outputs z.
func lossHess(l nn.Loss, z, rz, rd []float32, n, k int) {
	switch l.(type) {
	case nn.SoftmaxCrossEntropy:
		// Per row (diag(p) − ppᵀ) rz / n, whatever the label smoothing.
		p := make([]float64, k)
		for r := range n {
			zr, rr, dr := z[r*k:(r+1)*k], rz[r*k:(r+1)*k], rd[r*k:(r+1)*k]
			m := zr[0]
			for _, x := range zr[1:] {
				m = max(m, x)
			}
			var se float64
			for j, x := range zr {
				p[j] = math.Exp(float64(x - m))
				se += p[j]
			}
			var pr float64
			for j := range p {
				p[j] /= se
				pr += p[j] * float64(rr[j])
			}
			for j := range p {
				dr[j] = float32(p[j] * (float64(rr[j]) - pr) / float64(n))
			}
		}
	case nn.MSE:
		f := float32(2 / float64(n*k))
		for i, x := range rz[:n*k] {
			rd[i] = f * x
		}
	case nn.BCEWithLogits:
		inv := 1 / float64(n*k)
		for i, x := range rz[:n*k] {
			s := 1 / (1 + math.Exp(-float64(z[i])))
			rd[i] = float32(s * (1 - s) * float64(x) * inv)
		}
	}
}
