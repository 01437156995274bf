package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Buffer is model state that gradients do not train (BatchNorm's running averages); it is
// saved in checkpoints next to the parameters.
type Buffer struct {
	Name  string
	Shape []int
	Data  []float32
}

// Stateful is implemented by layers that keep buffers.
type Stateful interface {
	Buffers() []Buffer
}

// BatchNorm normalises each channel (of [C,H,W] inputs) or feature (of [F] inputs) with the
// batch's statistics in training mode and with running averages in evaluation mode, then
// scales by γ and shifts by β (spans of kind param.Norm). Running averages follow PyTorch:
// r ← (1−momentum)·r + momentum·stat, with the unbiased variance; SAM's second pass
// (Ctx.Second) normalises with its own batch statistics but leaves the running averages alone.
//
// Ghost > 0 is Ghost Batch Normalization (Hoffer et al., NeurIPS 2017): in training mode the
// batch is normalised in consecutive chunks of Ghost examples (the last one shorter when Ghost
// does not divide the batch), each with its own statistics, forward and backward; the running
// averages are updated once per chunk, in chunk order, as by batches of Ghost examples one
// after the other. A Ghost of at least the batch is plain BatchNorm, bit for bit.
type BatchNorm struct {
	Momentum, Eps float64 // 0 means 0.1 and 1e-5
	Ghost         int     // training mode: examples per normalisation chunk (0 = the whole batch)

	c, hw     int
	G, B      param.Span
	Mean, Var []float32 // running averages
	name      string

	train        bool
	mean, invstd []float32 // statistics used by the last forward
	x            []float32 // the last input (not owned): Backward recomputes x̂ from it
	y, dx        []float32
	relu         bool // the last forward applied a ReLU (Model.fused)
}

// Build implements Layer.
func (l *BatchNorm) Build(lay *param.Layout, name string, in []int) ([]int, error) {
	switch len(in) {
	case 1:
		l.c, l.hw = in[0], 1
	case 3:
		l.c, l.hw = in[0], in[1]*in[2]
	default:
		return nil, fmt.Errorf("model: %s: batch norm needs [C,H,W] or [F] input, got %v", name, in)
	}
	if l.Momentum == 0 {
		l.Momentum = 0.1
	}
	if l.Eps == 0 {
		l.Eps = 1e-5
	}
	l.name = name
	l.G = lay.Add(name+".weight", param.Norm, l.c)
	l.B = lay.Add(name+".bias", param.Norm, l.c)
	l.Mean = make([]float32, l.c)
	l.Var = make([]float32, l.c)
	for i := range l.Var {
		l.Var[i] = 1
	}
	l.mean = make([]float32, l.c)
	l.invstd = make([]float32, l.c)
	return in, nil
}

// Init implements Layer: γ = 1, β = 0, running mean 0 and variance 1.
func (l *BatchNorm) Init(w []float32, rng *rand.Rand) {
	for i := range l.G.Of(w) {
		l.G.Of(w)[i] = 1
	}
	clear(l.B.Of(w))
	clear(l.Mean)
	for i := range l.Var {
		l.Var[i] = 1
	}
}

// Buffers implements Stateful.
func (l *BatchNorm) Buffers() []Buffer {
	return []Buffer{
		{Name: l.name + ".running_mean", Shape: []int{l.c}, Data: l.Mean},
		{Name: l.name + ".running_var", Shape: []int{l.c}, Data: l.Var},
	}
}

// Forward implements Layer.
func (l *BatchNorm) Forward(c *Ctx, w, x []float32, n int) []float32 {
	return l.forward(c, w, x, n, false)
}

// forward is Forward, with a ReLU applied to the output when relu is set (Model.fused): the
// output is then the ReLU's, and Backward takes the gradient with respect to it.
func (l *BatchNorm) forward(c *Ctx, w, x []float32, n int, relu bool) []float32 {
	l.train, l.relu = c.Train, relu
	size := n * l.c * l.hw
	l.x = x[:size]
	l.y = grow(l.y, size)
	gam, bet := l.G.Of(w), l.B.Of(w)
	gs, nc := l.chunks(n)
	l.mean, l.invstd = grow(l.mean, nc*l.c), grow(l.invstd, nc*l.c)
	tensor.Parallel(l.c, 1, func(lo, hi int) {
		for q := lo * nc; q < hi*nc; q++ { // channel ch's chunk [e0, e1) of examples, in order
			ch, e0 := q/nc, q%nc*gs
			e1, j := min(e0+gs, n), q%nc*l.c+ch
			cnt := float64((e1 - e0) * l.hw)
			mean, invstd := float64(l.Mean[ch]), 1/math.Sqrt(float64(l.Var[ch])+l.Eps)
			if c.Train {
				// One pass: Σx and Σx² in float64, var = E[x²] − mean² (float64 keeps the
				// cancellation harmless unless |mean|/std exceeds about 10⁶).
				var s, ss float64
				for e := e0; e < e1; e++ {
					a, b := tensor.Moments64(x[(e*l.c+ch)*l.hw : (e*l.c+ch+1)*l.hw])
					s, ss = s+a, ss+b
				}
				mean = s / cnt
				variance := max(ss/cnt-mean*mean, 0)
				invstd = 1 / math.Sqrt(variance+l.Eps)
				if !c.Second {
					m := l.Momentum
					unbiased := variance
					if cnt > 1 {
						unbiased = variance * cnt / (cnt - 1)
					}
					l.Mean[ch] = float32((1-m)*float64(l.Mean[ch]) + m*mean)
					l.Var[ch] = float32((1-m)*float64(l.Var[ch]) + m*unbiased)
				}
			}
			l.mean[j], l.invstd[j] = float32(mean), float32(invstd)
			mu, is, g, b := float32(mean), float32(invstd), gam[ch], bet[ch]
			for e := e0; e < e1; e++ {
				off := (e*l.c + ch) * l.hw
				tensor.BatchNormApply(l.y[off:off+l.hw], nil, x[off:off+l.hw], mu, is, g, b, relu)
			}
		}
	})
	return l.y
}

// chunks returns the examples per normalisation chunk of a pass on n rows (Ghost in training
// mode, when set; else n) and the number of chunks.
func (l *BatchNorm) chunks(n int) (gs, nc int) {
	if l.train && l.Ghost > 0 && l.Ghost < n {
		return l.Ghost, (n + l.Ghost - 1) / l.Ghost
	}
	return max(n, 1), 1
}

// Backward implements Layer.
func (l *BatchNorm) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	gam := l.G.Of(w)
	gg, gb := l.G.Of(g), l.B.Of(g)
	if needDX {
		l.dx = grow(l.dx, n*l.c*l.hw)
	}
	gs, nc := l.chunks(n)
	seg := gs * l.hw            // per thread: one chunk of a channel's x̂ and (masked) output gradient
	threads := tensor.Threads() // read once: the scratch has a part per slot
	scratch := getScratch(2 * threads * seg)
	defer putScratch(scratch)
	tensor.ParallelSlotsOn(threads, l.c, 1, func(slot, lo, hi int) {
		buf := (*scratch)[2*slot*seg : 2*(slot+1)*seg]
		xhb, dyb := buf[:seg], buf[seg:]
		var tdy, tdyx float64              // channel ch's sums over its chunks
		for q := lo * nc; q < hi*nc; q++ { // channel ch's chunk [e0, e1) of examples
			ch, e0 := q/nc, q%nc*gs
			e1, j := min(e0+gs, n), q%nc*l.c+ch
			cnt := float32((e1 - e0) * l.hw)
			var sdy, sdyx float64
			for e := e0; e < e1; e++ {
				off, b := (e*l.c+ch)*l.hw, (e-e0)*l.hw
				xh, d := xhb[b:b+l.hw], dy[off:off+l.hw]
				tensor.BatchNormApply(nil, xh, l.x[off:off+l.hw], l.mean[j], l.invstd[j], 0, 0, false)
				if l.relu {
					tensor.ReLUMask(dyb[b:b+l.hw], d, l.y[off:off+l.hw])
					d = dyb[b : b+l.hw]
				}
				a, s := tensor.SumDot64(d, xh)
				sdy, sdyx = sdy+a, sdyx+s
			}
			if e0 == 0 {
				tdy, tdyx = 0, 0
			}
			tdy, tdyx = tdy+sdy, tdyx+sdyx
			gg[ch], gb[ch] = float32(tdyx), float32(tdy)
			if !needDX {
				continue
			}
			k := gam[ch] * l.invstd[j]
			mdy, mdyx := float32(sdy)/cnt, float32(sdyx)/cnt
			for e := e0; e < e1; e++ {
				off, b := (e*l.c+ch)*l.hw, (e-e0)*l.hw
				xh, d, dx := xhb[b:b+l.hw], dy[off:off+l.hw], l.dx[off:off+l.hw]
				if l.relu {
					d = dyb[b : b+l.hw]
				}
				if !l.train { // evaluation mode: the statistics are constants
					for i, v := range d {
						dx[i] = k * v
					}
					continue
				}
				tensor.BatchNormGrad(dx, d, xh, k, mdy, mdyx)
			}
		}
	})
	if !needDX {
		return nil
	}
	return l.dx
}

// SetGhost sets the Ghost of every BatchNorm layer of m (those inside residual blocks too) to
// g and returns how many there are.
func SetGhost(m *Model, g int) int {
	return setGhost(m.Layers, g)
}

func setGhost(ls []Layer, g int) int {
	k := 0
	for _, l := range ls {
		switch l := l.(type) {
		case *BatchNorm:
			l.Ghost = g
			k++
		case *Residual:
			k += setGhost(l.Body, g) + setGhost(l.Short, g)
		}
	}
	return k
}

// Residual is a residual block y = relu(body(x) + shortcut(x)), or y = body(x) + shortcut(x)
// when Linear is set (the pre-activation blocks of WideResNet); an empty Short is the identity.
type Residual struct {
	Body, Short           []Layer
	Linear                bool
	bodyNames, shortNames []string

	z, y, dx []float32
}

// NewBasicBlock returns ResNet's basic block: conv3×3(stride)-BN-ReLU-conv3×3-BN, with a
// 1×1 convolution and BN on the shortcut when the shape changes.
func NewBasicBlock(in, out, stride int) *Residual {
	r := &Residual{
		Body: []Layer{&Conv2D{Out: out, K: 3, Stride: stride, Pad: 1, NoBias: true}, &BatchNorm{},
			&Activation{Func: "relu"}, &Conv2D{Out: out, K: 3, Pad: 1, NoBias: true}, &BatchNorm{}},
		bodyNames: []string{"conv1", "bn1", "relu", "conv2", "bn2"},
	}
	if stride != 1 || in != out {
		r.Short = []Layer{&Conv2D{Out: out, K: 1, Stride: stride, NoBias: true}, &BatchNorm{}}
		r.shortNames = []string{"shortcut.0", "shortcut.1"}
	}
	return r
}

// Build implements Layer.
func (r *Residual) Build(lay *param.Layout, name string, in []int) ([]int, error) {
	build := func(ls []Layer, names []string) ([]int, error) {
		shape := in
		var err error
		for i, l := range ls {
			if shape, err = l.Build(lay, name+"."+names[i], shape); err != nil {
				return nil, err
			}
		}
		return shape, nil
	}
	out, err := build(r.Body, r.bodyNames)
	if err != nil {
		return nil, err
	}
	short, err := build(r.Short, r.shortNames)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(out) != fmt.Sprint(short) {
		return nil, fmt.Errorf("model: %s: body output %v does not match shortcut %v", name, out, short)
	}
	return out, nil
}

// Init implements Layer.
func (r *Residual) Init(w []float32, rng *rand.Rand) {
	for _, l := range append(append([]Layer(nil), r.Body...), r.Short...) {
		l.Init(w, rng)
	}
}

// Buffers implements Stateful.
func (r *Residual) Buffers() []Buffer {
	var bs []Buffer
	for _, l := range append(append([]Layer(nil), r.Body...), r.Short...) {
		if s, ok := l.(Stateful); ok {
			bs = append(bs, s.Buffers()...)
		}
	}
	return bs
}

// Forward implements Layer.
func (r *Residual) Forward(c *Ctx, w, x []float32, n int) []float32 {
	b := forwardSeq(r.Body, c, w, x, n)
	s := forwardSeq(r.Short, c, w, x, n)
	r.y = grow(r.y, len(b))
	if r.Linear {
		tensor.AddScaled(r.y, b, 1, s) // b + 1·s: the plain sum
		return r.y
	}
	tensor.AddReLU(r.y, b, s)
	return r.y
}

// Backward implements Layer.
func (r *Residual) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	r.z = grow(r.z, len(dy))
	if r.Linear {
		copy(r.z, dy)
	} else {
		ReLUMask(r.z, dy, r.y)
	}
	d := backwardSeq(r.Body, c, w, g, r.z, n, needDX)
	ds := backwardSeq(r.Short, c, w, g, r.z, n, needDX)
	if !needDX {
		return nil
	}
	r.dx = grow(r.dx, len(d))
	tensor.AddScaled(r.dx, d, 1, ds) // d + 1·ds: the plain sum
	return r.dx
}
