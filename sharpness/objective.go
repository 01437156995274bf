package sharpness

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// DefaultBatch is the number of rows per forward pass when Objective.Batch is 0.
const DefaultBatch = 1000

// Objective is the mean loss of a model over a fixed data set, as a function of the weights,
// in evaluation mode. It is not safe for concurrent use (the model keeps per-call buffers).
type Objective struct {
	Model *nn.Model
	Set   *data.Set
	Batch int // rows per pass; 0 means DefaultBatch
	// Cache is the memory (bytes) a Hessian of the objective may keep for the passes at w of
	// its batches, so that products do not recompute them; 0 means CacheLimit, negative none.
	// (The model's own layers hold one batch's besides; a set of one batch is always kept.)
	Cache int64

	g32 []float32
}

// NewObjective checks that set fits model and returns the objective.
func NewObjective(m *nn.Model, set *data.Set, batch int) (*Objective, error) {
	if set.N() == 0 {
		return nil, fmt.Errorf("sharpness: empty data set")
	}
	if set.Dim() != m.InDim() {
		return nil, fmt.Errorf("sharpness: the data has %d features per example, the model expects %d", set.Dim(), m.InDim())
	}
	if batch < 0 {
		return nil, fmt.Errorf("sharpness: negative batch size %d", batch)
	}
	if set.IsClassification() != (m.Spec.Loss != "mse") {
		return nil, fmt.Errorf("sharpness: %s loss does not fit %s data", m.Spec.Loss, taskOf(set))
	}
	return &Objective{Model: m, Set: set, Batch: batch}, nil
}

func taskOf(s *data.Set) string {
	if s.IsClassification() {
		return "classification"
	}
	return "regression"
}

// N is the number of examples.
func (o *Objective) N() int { return o.Set.N() }

// Dim is the number of parameters.
func (o *Objective) Dim() int { return o.Model.Layout.Size() }

func (o *Objective) batch() int {
	if o.Batch <= 0 {
		return DefaultBatch
	}
	return o.Batch
}

func (o *Objective) cacheLimit() int64 {
	switch {
	case o.Cache < 0:
		return 0
	case o.Cache == 0:
		return CacheLimit
	}
	return o.Cache
}

// batches calls f for each batch [lo,hi) of rows [from,to) with its rows and targets.
func (o *Objective) batches(from, to int, f func(lo, hi int, x []float32, t nn.Target)) {
	s, d, k := o.Set, o.Set.Dim(), o.Set.Outputs
	if s.IsClassification() {
		k = 0
	}
	for lo := from; lo < to; lo += o.batch() {
		hi := min(lo+o.batch(), to)
		t := nn.Target{}
		if s.Labels != nil {
			t.Labels = s.Labels[lo:hi]
		}
		if s.Y != nil {
			t.Y = s.Y[lo*k : hi*k]
		}
		f(lo, hi, s.X[lo*d:hi*d], t)
	}
}

// Loss returns the mean loss over the set at w and the fraction of correctly classified
// examples (0 for regression).
func (o *Objective) Loss(w []float32) (loss, acc float64) {
	return o.lossRange(w, 0, o.N())
}

func (o *Objective) lossRange(w []float32, from, to int) (float64, float64) {
	t := nn.Target{Labels: o.Set.Labels, Y: o.Set.Y}
	d, k := o.Set.Dim(), o.Set.Outputs
	if t.Labels != nil {
		t.Labels = t.Labels[from:to]
	}
	if t.Y != nil {
		t.Y = t.Y[from*k : to*k]
	}
	l, c := o.Model.Evaluate(w, o.Set.X[from*d:to*d], to-from, t, o.batch())
	return l, float64(c) / float64(to-from)
}

// LossGrad returns the mean loss over the set at w and writes its gradient into g (float64,
// length Dim), accumulated over batches in float64 and weighted by batch size.
func (o *Objective) LossGrad(w []float32, g []float64) float64 {
	return o.lossGradRange(w, g, 0, o.N())
}

func (o *Objective) lossGradRange(w []float32, g []float64, from, to int) float64 {
	o.g32 = slices.Grow(o.g32[:0], o.Dim())[:o.Dim()]
	clear(g)
	c := &nn.Ctx{}
	var total float64
	o.batches(from, to, func(lo, hi int, x []float32, t nn.Target) {
		l, _ := o.Model.Grad(c, w, o.g32, x, hi-lo, t)
		f := float64(hi-lo) / float64(to-from)
		total += l * f
		for i, v := range o.g32 {
			g[i] += float64(v) * f
		}
	})
	return total
}

// Subset returns n examples of s drawn without replacement by seed, in their original order;
// n ≥ s.N() returns all of s.
func Subset(s *data.Set, n int, seed uint64) (*data.Set, error) {
	if n <= 0 {
		return nil, fmt.Errorf("--subset: must be > 0, got %d", n)
	}
	if n >= s.N() {
		return s, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5ab5e7))
	idx := rng.Perm(s.N())[:n]
	slices.Sort(idx)
	return s.Subset(idx), nil
}
