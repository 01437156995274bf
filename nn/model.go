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
	Model          string  `json:"model"`                     // "linear", "logistic" or "mlp"
	Input          []int   `json:"input"`                     // shape of one example
	Outputs        int     `json:"outputs"`                   // classes, or regression outputs
	Hidden         []int   `json:"hidden,omitempty"`          // mlp: hidden widths
	Activation     string  `json:"activation,omitempty"`      // mlp: relu (default), tanh or sigmoid
	Dropout        float64 `json:"dropout,omitempty"`         // mlp: dropout after each hidden activation
	Loss           string  `json:"loss"`                      // "ce", "mse" or "bce"
	LabelSmoothing float64 `json:"label_smoothing,omitempty"` // cross-entropy only
}

// Model is a stack of layers with a loss. Its parameters live outside, in a flat vector laid out
// by Layout.
type Model struct {
	Spec   Spec
	Layers []Layer
	Layout param.Layout
	Loss   Loss

	dout []float32
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
	default:
		return nil, fmt.Errorf("--model: unknown model %q (want linear, logistic or mlp)", spec.Model)
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

// InDim is the number of input features per example.
func (m *Model) InDim() int { return size(m.Spec.Input) }

// Forward runs the layers on n rows x and returns the n × Outputs output rows.
func (m *Model) Forward(c *Ctx, w, x []float32, n int) []float32 {
	for _, l := range m.Layers {
		x = l.Forward(c, w, x, n)
	}
	return x
}

// Grad evaluates the mean loss over n examples at w, overwrites g with its gradient, and returns
// the loss and the number of correctly classified examples (0 for regression).
func (m *Model) Grad(c *Ctx, w, g, x []float32, n int, t Target) (float64, int) {
	out := m.Forward(c, w, x, n)
	k := m.Spec.Outputs
	m.dout = grow(m.dout, n*k)
	loss := m.Loss.Eval(out, n, k, t, m.dout)
	correct := 0
	if t.Labels != nil {
		correct = Correct(out, n, k, t.Labels)
	}
	d := m.dout
	for i := len(m.Layers) - 1; i >= 0; i-- {
		d = m.Layers[i].Backward(c, w, g, d, n, i > 0)
	}
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
	if m.Spec.Model == "mlp" {
		s += " " + m.Spec.Activation
	}
	return fmt.Sprintf("%s, %s loss (%d parameters)", s, m.Spec.Loss, m.Layout.Size())
}
