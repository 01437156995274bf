package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// Ctx carries the mode of one forward/backward evaluation.
type Ctx struct {
	// Train selects training mode (dropout active, batch statistics); false is evaluation mode.
	Train bool
	// Second marks SAM's second pass at w+ε: layers reuse the first pass's random draws
	// (dropout masks) and leave batch-statistics state (running averages) alone.
	Second bool
	// Rng draws dropout masks in the first pass; nil is allowed when no layer needs it.
	Rng *rand.Rand
}

// Layer is one differentiable stage of a model. Inputs and outputs are n rows of a fixed
// per-example size, row-major. Forward's result (and Backward's) belongs to the layer and stays
// valid until its next call.
type Layer interface {
	// Build declares the layer's parameters in l, with span names prefixed by name, and returns
	// the per-example output shape for the per-example input shape in.
	Build(l *param.Layout, name string, in []int) (out []int, err error)
	// Init writes initial values of the layer's parameters into the flat vector w.
	Init(w []float32, rng *rand.Rand)
	// Forward maps n input rows x to output rows using parameters w.
	Forward(c *Ctx, w, x []float32, n int) []float32
	// Backward takes dL/dy for the rows of the last Forward, overwrites the layer's spans of g with
	// dL/dparams, and returns dL/dx (nil when needDX is false).
	Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// RowKeeper is implemented by layers whose examples do not interact (every layer but BatchNorm
// and the residual blocks that hold it). After a Forward on n rows, KeepRows(idx, n) reduces what
// the layer saved for Backward to the rows idx (ascending), so that Backward then runs on
// len(idx) rows exactly as if Forward had seen only those rows. ESAM's data selection uses it
// to run the second backward pass on the selected examples alone.
type RowKeeper interface {
	KeepRows(idx []int, n int)
}

// gatherRows copies the rows idx (of width w) of src into buf, grown as needed, and returns it.
func gatherRows[T any](buf, src []T, idx []int, w int) []T {
	if cap(buf) < len(idx)*w {
		buf = make([]T, len(idx)*w)
	}
	buf = buf[:len(idx)*w]
	for j, i := range idx {
		copy(buf[j*w:(j+1)*w], src[i*w:(i+1)*w])
	}
	return buf
}

// grow returns buf resized to n elements, reallocating only when it is too small.
func grow(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

// Dense is a fully connected layer y = x Wᵀ + b with W of shape [Out, in] (PyTorch's layout).
type Dense struct {
	Out     int
	NoBias  bool
	in      int
	W, B    param.Span
	x       []float32 // the last input (not owned), or its kept rows (KeepRows)
	y, dx   []float32
	xk      []float32 // KeepRows: the kept rows of the input
	zeroIni bool
}

// Build implements Layer.
func (d *Dense) Build(l *param.Layout, name string, in []int) ([]int, error) {
	d.in = size(in)
	d.W = l.Add(name+".weight", param.Weight, d.Out, d.in)
	if !d.NoBias {
		d.B = l.Add(name+".bias", param.Bias, d.Out)
	}
	return []int{d.Out}, nil
}

// Init implements Layer: PyTorch's default, U(−1/√in, 1/√in) for weights and bias.
func (d *Dense) Init(w []float32, rng *rand.Rand) {
	bound := 1 / math.Sqrt(float64(d.in))
	fill := func(v []float32) {
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}
	fill(d.W.Of(w))
	if !d.NoBias {
		fill(d.B.Of(w))
	}
}

// Forward implements Layer.
func (d *Dense) Forward(c *Ctx, w, x []float32, n int) []float32 {
	d.x = x[:n*d.in]
	d.y = grow(d.y, n*d.Out)
	tensor.Gemm(false, true, n, d.Out, d.in, 1, d.x, d.in, d.W.Of(w), d.in, 0, d.y, d.Out)
	if !d.NoBias {
		b := d.B.Of(w)
		for r := 0; r < n; r++ {
			tensor.Axpy(1, b, d.y[r*d.Out:(r+1)*d.Out]) // row + 1·b: the plain sum
		}
	}
	return d.y
}

// KeepRows implements RowKeeper.
func (d *Dense) KeepRows(idx []int, n int) {
	d.xk = gatherRows(d.xk, d.x, idx, d.in)
	d.x = d.xk
}

// Backward implements Layer.
func (d *Dense) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	tensor.Gemm(true, false, d.Out, d.in, n, 1, dy, d.Out, d.x, d.in, 0, d.W.Of(g), d.in)
	if !d.NoBias {
		gb := d.B.Of(g)
		clear(gb)
		for r := 0; r < n; r++ {
			tensor.Axpy(1, dy[r*d.Out:(r+1)*d.Out], gb) // row by row, as a plain loop adds
		}
	}
	if !needDX {
		return nil
	}
	d.dx = grow(d.dx, n*d.in)
	tensor.Gemm(false, false, n, d.in, d.Out, 1, dy, d.Out, d.W.Of(w), d.in, 0, d.dx, d.in)
	return d.dx
}

// Activation applies an element-wise nonlinearity: "relu", "tanh" or "sigmoid".
type Activation struct {
	Func  string
	y, dx []float32
	yb    []float32 // the output rows Backward uses: y, or its kept rows (KeepRows)
	yk    []float32
}

// Build implements Layer.
func (a *Activation) Build(l *param.Layout, name string, in []int) ([]int, error) {
	switch a.Func {
	case "relu", "tanh", "sigmoid":
		return in, nil
	}
	return nil, fmt.Errorf("--activation: unknown activation %q (want relu, tanh or sigmoid)", a.Func)
}

// Init implements Layer (no parameters).
func (a *Activation) Init([]float32, *rand.Rand) {}

// Forward implements Layer.
func (a *Activation) Forward(c *Ctx, w, x []float32, n int) []float32 {
	a.y = grow(a.y, len(x))
	y := a.y
	a.yb = y
	switch a.Func {
	case "relu":
		tensor.ReLU(y, x)
	case "tanh":
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case "sigmoid":
		for i, v := range x {
			y[i] = sigmoid(v)
		}
	}
	return y
}

// Backward implements Layer.
func (a *Activation) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	a.dx = grow(a.dx, len(dy))
	dx, y := a.dx, a.yb
	switch a.Func {
	case "relu":
		ReLUMask(dx, dy, y)
	case "tanh":
		for i, v := range dy {
			dx[i] = v * (1 - y[i]*y[i])
		}
	case "sigmoid":
		for i, v := range dy {
			dx[i] = v * y[i] * (1 - y[i])
		}
	}
	return dx
}

// adopt makes y, the output of a fused convolution (Model.fused), this layer's last output.
func (a *Activation) adopt(y []float32) {
	a.y, a.yb = y, y
}

// KeepRows implements RowKeeper.
func (a *Activation) KeepRows(idx []int, n int) {
	a.yk = gatherRows(a.yk, a.y, idx, len(a.y)/n)
	a.yb = a.yk
}

// ReLUMask writes dx = dy where y > 0 and 0 where y = 0 (y is a ReLU output, never negative);
// it is tensor.ReLUMask.
func ReLUMask(dx, dy, y []float32) { tensor.ReLUMask(dx, dy, y) }

func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

// Dropout zeroes each input with probability P in training mode and scales the rest by 1/(1−P)
// (inverted dropout); evaluation mode is the identity. SAM's second pass reuses the first pass's mask.
type Dropout struct {
	P           float64
	mask, y, dx []float32
	mb, mk      []float32 // the mask rows Backward uses: mask, or its kept rows (KeepRows)
}

// Build implements Layer.
func (d *Dropout) Build(l *param.Layout, name string, in []int) ([]int, error) {
	if !(d.P >= 0 && d.P < 1) {
		return nil, fmt.Errorf("--dropout: must be in [0,1), got %g", d.P)
	}
	return in, nil
}

// Init implements Layer (no parameters).
func (d *Dropout) Init([]float32, *rand.Rand) {}

// Forward implements Layer.
func (d *Dropout) Forward(c *Ctx, w, x []float32, n int) []float32 {
	if !c.Train || d.P == 0 {
		d.mask, d.mb = d.mask[:0], nil
		return x
	}
	if !c.Second || len(d.mask) != len(x) {
		d.mask = grow(d.mask, len(x))
		keep := float32(1 / (1 - d.P))
		for i := range d.mask {
			if c.Rng.Float64() < d.P {
				d.mask[i] = 0
			} else {
				d.mask[i] = keep
			}
		}
	}
	d.mb = d.mask
	d.y = grow(d.y, len(x))
	for i, v := range x {
		d.y[i] = v * d.mask[i]
	}
	return d.y
}

// KeepRows implements RowKeeper.
func (d *Dropout) KeepRows(idx []int, n int) {
	if len(d.mask) > 0 {
		d.mk = gatherRows(d.mk, d.mask, idx, len(d.mask)/n)
		d.mb = d.mk
	}
}

// Backward implements Layer.
func (d *Dropout) Backward(c *Ctx, w, g, dy []float32, n int, needDX bool) []float32 {
	if !needDX {
		return nil
	}
	if len(d.mb) == 0 {
		return dy
	}
	d.dx = grow(d.dx, len(dy))
	for i, v := range dy {
		d.dx[i] = v * d.mb[i]
	}
	return d.dx
}
