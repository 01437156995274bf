package nn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/samgo/sam/param"
)

// Spec describes a model's architecture and loss; it is all that is needed to rebuild the model
// from a checkpoint (it is stored in the safetensors header). It serialises to JSON.
type Spec struct {
	Model          string  `json:"model"`                     // "linear", "logistic", "mlp", "cnn", "resnet" or "wrn"
	Input          []int   `json:"input"`                     // shape of one example
	Outputs        int     `json:"outputs"`                   // classes, or regression outputs
	Hidden         []int   `json:"hidden,omitempty"`          // mlp: hidden widths
	Activation     string  `json:"activation,omitempty"`      // mlp: relu (default), tanh or sigmoid
	Dropout        float64 `json:"dropout,omitempty"`         // mlp: dropout after each hidden activation; wrn: inside each block
	Width          int     `json:"width,omitempty"`           // resnet, wrn: widening factor k (0 means 1)
	Depth          int     `json:"depth,omitempty"`           // wrn: depth 6n+4
	Blocks         int     `json:"blocks,omitempty"`          // resnet: basic blocks per stage (0 means 1)
	Loss           string  `json:"loss"`                      // "ce", "mse" or "bce"
	LabelSmoothing float64 `json:"label_smoothing,omitempty"` // cross-entropy only
	Conv           string  `json:"conv,omitempty"`            // 3×3 convolutions: "direct" (im2col GEMM, the default) or "winograd"
}

// Model is a stack of layers with a loss. Its parameters live outside, in a flat vector laid out
// by Layout.
type Model struct {
	Spec   Spec
	Layers []Layer
	Layout param.Layout
	Loss   Loss

	dout []float32
	out  []float32 // the output of the last Forward, n rows
	n    int
	// GradRows: the selected rows' outputs, targets and output gradients
	sel, dsel, ysel []float32
	lsel            []int32
}

// Build validates spec and constructs the model. Errors are one line and name the flag at fault.
func Build(spec Spec) (*Model, error) {
	if len(spec.Input) == 0 || size(spec.Input) <= 0 || slices.ContainsFunc(spec.Input, func(d int) bool { return d <= 0 }) {
		return nil, fmt.Errorf("model: invalid input shape %v", spec.Input)
	}
	if spec.Outputs <= 0 {
		return nil, fmt.Errorf("model: invalid number of outputs %d", spec.Outputs)
	}
	if spec.Activation == "" {
		spec.Activation = "relu"
	}
	var layers []Layer
	var names []string
	add := func(name string, l Layer) { names = append(names, name); layers = append(layers, l) }
	switch spec.Model {
	case "linear", "logistic":
		if len(spec.Hidden) > 0 {
			return nil, fmt.Errorf("--hidden: only applies to --model mlp")
		}
		add("linear", &Dense{Out: spec.Outputs})
	case "mlp":
		if len(spec.Hidden) == 0 {
			return nil, fmt.Errorf("--hidden: mlp needs at least one hidden width")
		}
		for i, h := range spec.Hidden {
			if h <= 0 {
				return nil, fmt.Errorf("--hidden: widths must be positive, got %d", h)
			}
			add(fmt.Sprintf("fc%d", i+1), &Dense{Out: h})
			add("", &Activation{Func: spec.Activation})
			if spec.Dropout != 0 {
				add("", &Dropout{P: spec.Dropout})
			}
		}
		add(fmt.Sprintf("fc%d", len(spec.Hidden)+1), &Dense{Out: spec.Outputs})
	case "cnn": // conv32-pool-conv64-pool-fc128, for 28×28 inputs and the like
		if len(spec.Input) != 3 {
			return nil, fmt.Errorf("--model cnn: needs image input [C,H,W], got shape %v", spec.Input)
		}
		add("conv1", &Conv2D{Out: 32, K: 3, Pad: 1})
		add("", &Activation{Func: "relu"})
		add("", &Pool2D{K: 2})
		add("conv2", &Conv2D{Out: 64, K: 3, Pad: 1})
		add("", &Activation{Func: "relu"})
		add("", &Pool2D{K: 2})
		add("fc1", &Dense{Out: 128})
		add("", &Activation{Func: "relu"})
		add("fc2", &Dense{Out: spec.Outputs})
	case "resnet": // a small ResNet: stem, 3 stages of basic blocks (16k, 32k, 64k channels), GAP, fc
		if len(spec.Input) != 3 {
			return nil, fmt.Errorf("--model resnet: needs image input [C,H,W], got shape %v", spec.Input)
		}
		k, blocks := max(spec.Width, 1), max(spec.Blocks, 1)
		add("conv1", &Conv2D{Out: 16 * k, K: 3, Pad: 1, NoBias: true})
		add("bn1", &BatchNorm{})
		add("", &Activation{Func: "relu"})
		in := 16 * k
		for stage, width := range []int{16 * k, 32 * k, 64 * k} {
			for b := 0; b < blocks; b++ {
				stride := 1
				if stage > 0 && b == 0 {
					stride = 2
				}
				add(fmt.Sprintf("layer%d.%d", stage+1, b), NewBasicBlock(in, width, stride))
				in = width
			}
		}
		add("", &Pool2D{Global: true})
		add("fc", &Dense{Out: spec.Outputs})
	case "wrn":
		var err error
		if names, layers, err = wideResNet(spec); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--model: unknown model %q (want linear, logistic, mlp, cnn, resnet or wrn)", spec.Model)
	}
	switch spec.Conv {
	case "", "direct":
	case "winograd":
		var mark func(ls []Layer)
		mark = func(ls []Layer) {
			for _, l := range ls {
				switch l := l.(type) {
				case *Conv2D:
					l.Winograd = true
				case *Residual:
					mark(l.Body)
					mark(l.Short)
				}
			}
		}
		mark(layers)
	default:
		return nil, fmt.Errorf("--conv: unknown convolution %q (want direct or winograd)", spec.Conv)
	}
	loss, err := NewLoss(spec.Loss, spec.LabelSmoothing)
	if err != nil {
		return nil, err
	}
	if spec.Loss == "bce" && spec.Outputs != 1 {
		return nil, fmt.Errorf("--loss bce: needs one output logit, got %d outputs", spec.Outputs)
	}
	m := &Model{Spec: spec, Loss: loss}
	shape := spec.Input
	for i, l := range layers {
		name := names[i]
		if name == "" {
			name = fmt.Sprintf("layer%d", i)
		}
		if shape, err = l.Build(&m.Layout, name, shape); err != nil {
			return nil, err
		}
	}
	if size(shape) != spec.Outputs {
		return nil, fmt.Errorf("model: output size %d, want %d", size(shape), spec.Outputs)
	}
	m.Layers = layers
	return m, nil
}

// fused returns how many layers after layer i the model's own passes (Forward, Grad, GradRows)
// compute inside layer i (fusedAt).
func (m *Model) fused(i int) int { return fusedAt(m.Layers, i) }

// fusedAt returns how many layers after ls[i] the passes over the sequence ls (forwardSeq,
// backwardSeq: the model's own passes and a residual block's) compute inside ls[i]: 1 for a
// convolution or batch normalisation followed by a ReLU, 2 for a convolution, ReLU and 2×2 max
// pooling, else 0. The first layer then writes the rectified (and pooled) output, and its
// Backward takes the gradient with respect to that output. Layers called one by one (as
// package sharpness does) are never fused.
func fusedAt(ls []Layer, i int) int {
	if i+1 >= len(ls) || noFusion {
		return 0
	}
	if a, ok := ls[i+1].(*Activation); !ok || a.Func != "relu" {
		return 0
	}
	switch ls[i].(type) {
	case *Conv2D:
		if i+2 < len(ls) {
			if p, ok := ls[i+2].(*Pool2D); ok && p.K == 2 && !p.Avg && !p.Global {
				return 2
			}
		}
		return 1
	case *BatchNorm:
		return 1
	}
	return 0
}

// noFusion turns fusion off (tests compare both).
var noFusion bool

// forwardAt runs layer i's Forward, or the fused layers from i, and returns the output and how
// many layers after i it computed.
func (m *Model) forwardAt(c *Ctx, w, x []float32, n, i int) ([]float32, int) {
	return forwardSeqAt(m.Layers, c, w, x, n, i)
}

func forwardSeqAt(ls []Layer, c *Ctx, w, x []float32, n, i int) ([]float32, int) {
	switch k := fusedAt(ls, i); k {
	case 1:
		switch l := ls[i].(type) {
		case *Conv2D:
			x = l.forward(w, x, n, true, nil)
		case *BatchNorm:
			x = l.forward(c, w, x, n, true)
		}
		ls[i+1].(*Activation).adopt(x)
		return x, 1
	case 2:
		x = ls[i].(*Conv2D).forward(w, x, n, true, ls[i+2].(*Pool2D))
		ls[i+1].(*Activation).adopt(nil)
		return x, 2
	}
	return ls[i].Forward(c, w, x, n), 0
}

// forwardSeq runs the layers ls on n rows x, fused where fusedAt says.
func forwardSeq(ls []Layer, c *Ctx, w, x []float32, n int) []float32 {
	for i := 0; i < len(ls); i++ {
		var k int
		x, k = forwardSeqAt(ls, c, w, x, n, i)
		i += k
	}
	return x
}

// backwardSeq runs the Backward passes of ls (after forwardSeq) from the output gradient d and
// returns the input gradient (nil unless needDX).
func backwardSeq(ls []Layer, c *Ctx, w, g, d []float32, rows int, needDX bool) []float32 {
	for i := len(ls) - 1; i >= 0; i-- {
		if fusedIntoAt(ls, i) {
			continue // the layer below takes this layer's output gradient
		}
		d = ls[i].Backward(c, w, g, d, rows, needDX || i > 0)
	}
	return d
}

// fusedInto reports whether layer i is computed inside an earlier layer (Model.fused).
func (m *Model) fusedInto(i int) bool { return fusedIntoAt(m.Layers, i) }

func fusedIntoAt(ls []Layer, i int) bool {
	return i > 0 && fusedAt(ls, i-1) > 0 || i > 1 && fusedAt(ls, i-2) == 2
}

// backward runs the layers' Backward passes from the output gradient d of rows rows.
func (m *Model) backward(c *Ctx, w, g, d []float32, rows int) {
	backwardSeq(m.Layers, c, w, g, d, rows, false)
}

// Init returns a new parameter vector: "default" is PyTorch's default initialisation drawn from
// seed, "zeros" is all zeros (sensible for linear and logistic regression only).
func (m *Model) Init(how string, seed uint64) ([]float32, error) {
	w := make([]float32, m.Layout.Size())
	switch how {
	case "", "default":
		rng := rand.New(rand.NewPCG(seed, 0x5a3))
		for _, l := range m.Layers {
			l.Init(w, rng)
		}
	case "zeros":
	default:
		return nil, fmt.Errorf("--init: unknown initialisation %q (want default or zeros)", how)
	}
	return w, nil
}

// Buffers lists the model's non-trained state (BatchNorm running averages), for checkpoints.
func (m *Model) Buffers() []Buffer {
	var bs []Buffer
	for _, l := range m.Layers {
		if s, ok := l.(Stateful); ok {
			bs = append(bs, s.Buffers()...)
		}
	}
	return bs
}

// Forks returns k copies of m built from its Spec, each with its own buffers and the same
// parameter layout, that may evaluate disjoint rows of a batch at the same time as m and as
// each other with m's bits (sam.Optimizer.SetForks: m-sharpness's chunks at once). It returns
// nil when a pass depends on more than w and its rows: on batch statistics that it updates
// (BatchNorm's running averages) or on random draws (dropout).
func (m *Model) Forks(k int) ([]*Model, error) {
	if len(m.Buffers()) > 0 || m.Spec.Dropout != 0 {
		return nil, nil
	}
	var fs []*Model
	for range k {
		f, err := Build(m.Spec)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// InDim is the number of input features per example.
func (m *Model) InDim() int { return size(m.Spec.Input) }

// Forward runs the layers on n rows x and returns the n × Outputs output rows.
func (m *Model) Forward(c *Ctx, w, x []float32, n int) []float32 {
	x = forwardSeq(m.Layers, c, w, x, n)
	m.out, m.n = x, n
	return x
}

// ExampleLosses writes the loss of each example of the last Forward (or Grad) into dst, for the
// targets t of those examples: the per-example terms whose mean is the loss.
func (m *Model) ExampleLosses(t Target, dst []float32) {
	k := m.Spec.Outputs
	for r := range m.n {
		tr := Target{}
		if t.Labels != nil {
			tr.Labels = t.Labels[r : r+1]
		}
		if t.Y != nil {
			tr.Y = t.Y[r*k : (r+1)*k]
		}
		dst[r] = float32(m.Loss.Eval(m.out[r*k:(r+1)*k], 1, k, tr, nil))
	}
}

// GradRows overwrites g with the gradient of the mean loss over the examples idx (ascending)
// among the rows of the last Forward, whose targets are t, and returns that mean. When every
// layer is a RowKeeper the backward pass runs on those rows alone; otherwise (BatchNorm couples
// the examples) it runs on all rows, the others' output gradients zero, which is the same
// gradient.
func (m *Model) GradRows(c *Ctx, w, g []float32, t Target, idx []int) float64 {
	n, k := m.n, m.Spec.Outputs
	m.sel = gatherRows(m.sel, m.out, idx, k)
	tt := Target{}
	if t.Labels != nil {
		m.lsel = gatherRows(m.lsel, t.Labels, idx, 1)
		tt.Labels = m.lsel
	}
	if t.Y != nil {
		m.ysel = gatherRows(m.ysel, t.Y, idx, k)
		tt.Y = m.ysel
	}
	m.dsel = grow(m.dsel, len(idx)*k)
	loss := m.Loss.Eval(m.sel, len(idx), k, tt, m.dsel)
	rows, d := len(idx), m.dsel
	if m.rowwise() {
		for i, l := range m.Layers {
			if i > 0 && m.fused(i-1) > 0 {
				continue // a ReLU inside the convolution, which keeps what it needs
			}
			l.(RowKeeper).KeepRows(idx, n)
		}
	} else {
		m.dout = grow(m.dout, n*k)
		clear(m.dout)
		for j, i := range idx {
			copy(m.dout[i*k:(i+1)*k], m.dsel[j*k:(j+1)*k])
		}
		rows, d = n, m.dout
	}
	m.backward(c, w, g, d, rows)
	return loss
}

// rowwise reports whether every layer is a RowKeeper.
func (m *Model) rowwise() bool {
	for _, l := range m.Layers {
		if _, ok := l.(RowKeeper); !ok {
			return false
		}
	}
	return true
}

// Examples is the per-example view of one mini-batch (X holds N rows, T their targets) that
// sam.Optimizer.StepExamples takes for ESAM's data selection; it implements sam.Examples.
// Set X, T and N for each mini-batch; the first pass must be Model.Grad on the same rows.
type Examples struct {
	Model *Model
	Ctx   *Ctx
	X     []float32
	T     Target
	N     int
	// Idx and Traj are SAF's view (sam.Trajectory): the positions of the rows in the training
	// set, and the trajectory term that the training loop's first pass adds (SetSoft sets it).
	Idx  []int
	Traj *Trajectory
}

// Index implements sam.Trajectory: the rows' positions in the training set (nil when Idx is
// not set).
func (e *Examples) Index() []int {
	if e.Idx == nil {
		return nil
	}
	return e.Idx[:e.N]
}

// Classes implements sam.Trajectory: the outputs per example.
func (e *Examples) Classes() int { return e.Model.Spec.Outputs }

// SoftOutputs implements sam.Teacher: softmax(z/τ) of the rows of the last evaluation (Forward
// or the first pass) into dst (N × outputs).
func (e *Examples) SoftOutputs(dst []float32, tau float64) {
	k := e.Model.Spec.Outputs
	t := Trajectory{Tau: tau, Q: dst[:e.N*k], Have: make([]bool, e.N), P: dst[:e.N*k]}
	t.Eval(e.Model.out[:e.N*k], e.N, k, nil)
}

// SetSoft implements sam.Trajectory: the next first passes on these rows add the trajectory
// term λ·τ²·mean KL(q_i ‖ softmax(z_i/τ)) over the rows with have[i] and write softmax(z_i/τ)
// into p; q = nil removes the term.
func (e *Examples) SetSoft(q []float32, have []bool, p []float32, lambda, tau float64) {
	if q == nil {
		e.Traj = nil
		return
	}
	e.Traj = &Trajectory{Lambda: lambda, Tau: tau, Q: q, Have: have, P: p}
}

// Losses writes the per-example losses of the model's last evaluation.
func (e *Examples) Losses(dst []float32) { e.Model.ExampleLosses(e.T, dst[:e.N]) }

// Forward evaluates the model at w on the mini-batch as a second pass, without a gradient.
func (e *Examples) Forward(w []float32) {
	e.Ctx.Second = true
	e.Model.Forward(e.Ctx, w, e.X[:e.N*e.Model.InDim()], e.N)
}

// Backward overwrites g with the gradient of the mean loss over the examples idx at the w of
// the last Forward, and returns that mean.
func (e *Examples) Backward(w, g []float32, idx []int) float64 {
	e.Ctx.Second = true
	return e.Model.GradRows(e.Ctx, w, g, e.T, idx)
}

// Grad evaluates the mean loss over n examples at w, overwrites g with its gradient, and returns
// the loss and the number of correctly classified examples (0 for regression).
func (m *Model) Grad(c *Ctx, w, g, x []float32, n int, t Target) (float64, int) {
	out := m.Forward(c, w, x, n)
	k := m.Spec.Outputs
	m.dout = grow(m.dout, n*k)
	loss := m.Loss.Eval(out, n, k, t, m.dout)
	if t.Traj != nil {
		loss += t.Traj.Eval(out, n, k, m.dout)
	}
	correct := 0
	if t.Labels != nil {
		correct = Correct(out, n, k, t.Labels)
	}
	m.backward(c, w, g, m.dout, n)
	return loss, correct
}

// Evaluate returns the mean loss and the number of correct predictions over n examples in
// evaluation mode, in batches of at most batch rows (x holds n rows).
func (m *Model) Evaluate(w, x []float32, n int, t Target, batch int) (float64, int) {
	c := &Ctx{}
	d, k := m.InDim(), m.Spec.Outputs
	var total float64
	correct := 0
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		out := m.Forward(c, w, x[lo*d:hi*d], hi-lo)
		tt := Target{}
		if t.Labels != nil {
			tt.Labels = t.Labels[lo:hi]
			correct += Correct(out, hi-lo, k, tt.Labels)
		}
		if t.Y != nil {
			tt.Y = t.Y[lo*k : hi*k]
		}
		total += m.Loss.Eval(out, hi-lo, k, tt, nil) * float64(hi-lo)
	}
	return total / float64(max(n, 1)), correct
}

// Describe is a one-line summary such as "mlp 784-256-256-10 relu (269,322 parameters)".
func (m *Model) Describe() string {
	dims := []string{fmt.Sprint(m.InDim())}
	for _, h := range m.Spec.Hidden {
		dims = append(dims, fmt.Sprint(h))
	}
	dims = append(dims, fmt.Sprint(m.Spec.Outputs))
	s := m.Spec.Model + " " + strings.Join(dims, "-")
	switch m.Spec.Model {
	case "cnn", "resnet":
		s = fmt.Sprintf("%s %v→%d", m.Spec.Model, m.Spec.Input, m.Spec.Outputs)
		if m.Spec.Model == "resnet" {
			s += fmt.Sprintf(" (width %d, %d blocks per stage)", max(m.Spec.Width, 1), max(m.Spec.Blocks, 1))
		}
	case "wrn":
		s = fmt.Sprintf("wrn-%d-%d %v→%d", m.Spec.Depth, max(m.Spec.Width, 1), m.Spec.Input, m.Spec.Outputs)
		if m.Spec.Dropout > 0 {
			s += fmt.Sprintf(" (dropout %g)", m.Spec.Dropout)
		}
	}
	if m.Spec.Model == "mlp" {
		s += " " + m.Spec.Activation
	}
	return fmt.Sprintf("%s, %s loss (%d parameters)", s, m.Spec.Loss, m.Layout.Size())
}

// MACs is the number of multiply-adds of one example's forward pass in the dense and
// convolution layers (the GEMM work; a backward pass costs about twice as much).
func (m *Model) MACs() int { return macs(m.Layers) }

func macs(layers []Layer) int {
	n := 0
	for _, l := range layers {
		switch l := l.(type) {
		case *Dense:
			n += l.W.Size()
		case *Conv2D:
			n += l.W.Size() * l.oh * l.ow
		case *Residual:
			n += macs(l.Body) + macs(l.Short)
		}
	}
	return n
}
