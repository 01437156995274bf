package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// metaPreprocess is the checkpoint metadata key of the preprocessing (JSON of Preprocess).
const metaPreprocess = "preprocess"

// Preprocess is what a model needs besides its weights to turn raw inputs into the rows it was
// trained on and its outputs into answers. Checkpoints carry it in the safetensors header as
// JSON under "preprocess":
//
//	{"data":"csv:iris.csv","task":"classification","input_shape":[4],"outputs":3,
//	 "columns":["sepal_length",...],"target":"species","class_names":["0","1","2"],
//	 "standardize":{"mean":[...],"inv_std":[...]}}
//
// A raw example x (the columns in this order, or an image's pixels as byte/255 when image is
// true, row-major [C,H,W]) enters the model as (x − mean)·inv_std, feature by feature.
type Preprocess struct {
	Data        string      `json:"data"`                  // the training data spec
	Task        string      `json:"task"`                  // classification or regression
	Input       []int       `json:"input_shape"`           // shape of one example: [C,H,W] or [features]
	Outputs     int         `json:"outputs"`               // model outputs (classes; 1 for bce; regression outputs)
	Image       bool        `json:"image,omitempty"`       // pixel data: a pixel byte b enters as b/255
	Columns     []string    `json:"columns,omitempty"`     // feature names in model order (CSV header names)
	Target      string      `json:"target,omitempty"`      // the CSV target column
	ClassNames  []string    `json:"class_names,omitempty"` // classification: the name of each class
	Standardize *data.Stats `json:"standardize,omitempty"` // nil when training did not standardise
}

// NewPreprocess describes the preprocessing of prepared data d for the run c (after Prepare).
func NewPreprocess(c *Config, d *Data) *Preprocess {
	tr := d.Train
	p := &Preprocess{Data: c.Data, Task: c.Task, Input: slices.Clone(c.Model.Input), Outputs: c.Model.Outputs,
		Image: d.Image, Columns: slices.Clone(tr.FeatureNames), Target: tr.TargetName, Standardize: d.Stats}
	if tr.IsClassification() {
		p.ClassNames = slices.Clone(tr.ClassNames)
		if len(p.ClassNames) != tr.Classes {
			p.ClassNames = make([]string, tr.Classes)
			for i := range p.ClassNames {
				p.ClassNames[i] = strconv.Itoa(i)
			}
		}
	}
	return p
}

// Classes is the number of classes (0 for regression).
func (p *Preprocess) Classes() int {
	if p.Task != "classification" {
		return 0
	}
	return len(p.ClassNames)
}

// Dim is the number of input features, the product of the input shape.
func (p *Preprocess) Dim() int {
	n := 1
	for _, d := range p.Input {
		n *= d
	}
	return n
}

// check verifies p against the model it came with; errors are one line.
func (p *Preprocess) check(spec nn.Spec) error {
	if fmt.Sprint(p.Input) != fmt.Sprint(spec.Input) {
		return fmt.Errorf("preprocessing input shape %v, the model's is %v", p.Input, spec.Input)
	}
	if p.Outputs != spec.Outputs {
		return fmt.Errorf("preprocessing has %d outputs, the model %d", p.Outputs, spec.Outputs)
	}
	d := p.Dim()
	switch p.Task {
	case "classification":
		k := len(p.ClassNames)
		if k < 2 || (spec.Outputs != 1 && k != spec.Outputs) || (spec.Outputs == 1 && k != 2) {
			return fmt.Errorf("preprocessing names %d classes for %d outputs", k, spec.Outputs)
		}
	case "regression":
		if len(p.ClassNames) > 0 {
			return errors.New("preprocessing names classes for a regression model")
		}
	default:
		return fmt.Errorf("preprocessing: unknown task %q", p.Task)
	}
	if p.Columns != nil && len(p.Columns) != d {
		return fmt.Errorf("preprocessing names %d columns for %d features", len(p.Columns), d)
	}
	if st := p.Standardize; st != nil {
		if len(st.Mean) != d || len(st.InvStd) != d {
			return fmt.Errorf("preprocessing has %d means and %d inverse deviations for %d features", len(st.Mean), len(st.InvStd), d)
		}
		for j := range d {
			if !finite32(st.Mean[j]) || !finite32(st.InvStd[j]) {
				return fmt.Errorf("preprocessing statistics of feature %d are not finite", j)
			}
		}
	}
	return nil
}

func finite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// Preprocessing returns the checkpoint's preprocessing. A checkpoint written before it was
// saved is still usable where its data can be loaded again: the preprocessing is then recomputed
// from the run config (the same splits and statistics as the run), and warn hears about it.
func (ck *Checkpoint) Preprocessing(warn func(string)) (*Preprocess, error) {
	if ck.Pre != nil {
		return ck.Pre, nil
	}
	if ck.Config == nil {
		return nil, fmt.Errorf("%s: carries neither its preprocessing nor its run config; it cannot be used for inputs", ck.Path)
	}
	c := *ck.Config
	c.Model = ck.Model.Spec
	c.Model.Input, c.Model.Outputs = nil, 0
	d, err := Prepare(&c)
	if err != nil {
		return nil, fmt.Errorf("%s: has no preprocessing and its data cannot be prepared again: %w", ck.Path, err)
	}
	p := NewPreprocess(&c, d)
	if err := p.check(ck.Model.Spec); err != nil {
		return nil, fmt.Errorf("%s: recomputed %v", ck.Path, err)
	}
	if warn != nil {
		warn(fmt.Sprintf("%s was written without its preprocessing; recomputed it from --data %s (a new run stores it)", ck.Path, c.Data))
	}
	ck.Pre = p
	return p, nil
}

// DataOptions choose the data a checkpoint is evaluated on; empty fields mean the run's own.
type DataOptions struct {
	Data, DataDir, Target string
}

// Data prepares data for evaluating ck: the run's own splits (same seed and fractions, same
// label noise) by default, or another data set (o.Data), split the same way. The checkpoint's
// stored preprocessing is applied (not statistics of the new data); CSV columns are matched
// to the training columns by name, in any order.
func (ck *Checkpoint) Data(o DataOptions, warn func(string)) (*Data, error) {
	var c Config
	switch {
	case ck.Config != nil:
		c = *ck.Config
	case o.Data == "":
		return nil, fmt.Errorf("--data: %s carries no run config; name the data set", ck.Path)
	default:
		c = Config{Task: "classification", ValFraction: 0.1, TestFraction: 0.2, Standardize: true, Seed: 1}
		if ck.Model.Spec.Loss == "mse" {
			c.Task = "regression"
		}
	}
	pre, err := ck.Preprocessing(warn)
	if err != nil {
		return nil, err
	}
	same := o.Data == "" || o.Data == c.Data
	if !same {
		c.Data, c.DataDir, c.Target = o.Data, "", o.Target
		c.LabelNoise, c.TrainSize = 0, 0
		if strings.HasPrefix(o.Data, "csv:") && c.Target == "" {
			c.Target = pre.Target
		}
	} else if o.Target != "" && o.Target != c.Target {
		return nil, fmt.Errorf("--target: %s was trained on %s with target %q; --target applies to other --data", ck.Path, c.Data, c.Target)
	}
	if o.DataDir != "" {
		c.DataDir = o.DataDir
	}
	c.Model = ck.Model.Spec
	src, err := c.Open()
	if err != nil {
		return nil, err
	}
	if src.Test != nil {
		c.TestFraction = 0 // an official test set
	}
	if !same && pre.Columns != nil && src.Train.FeatureNames != nil {
		for _, s := range []*data.Set{src.Train, src.Test} {
			if s == nil {
				continue
			}
			if err := AlignColumns(s, pre.Columns, "--data "+c.Data); err != nil {
				return nil, err
			}
		}
	}
	if fmt.Sprint(src.Train.Shape) != fmt.Sprint(pre.Input) {
		return nil, fmt.Errorf("--data %s: examples of shape %v, the model expects %v", c.Data, src.Train.Shape, pre.Input)
	}
	if k := pre.Classes(); src.Train.Classes > k || (src.Test != nil && src.Test.Classes > k) {
		return nil, fmt.Errorf("--data %s: has %d classes, the model %d", c.Data, max(src.Train.Classes, src.Test.Classes), k)
	}
	tr, va, te, err := data.Splits(src, c.ValFraction, c.TestFraction, c.Seed)
	if err != nil {
		return nil, err
	}
	d := &Data{Name: src.Name, Train: tr, Val: va, Test: te, Image: src.Image, Stats: pre.Standardize}
	if c.LabelNoise > 0 {
		if d.NoisyLabels, err = data.AddLabelNoise(tr, c.LabelNoise, c.Seed); err != nil {
			return nil, err
		}
	}
	if pre.Standardize != nil {
		pre.Standardize.Apply(tr, va, te)
	}
	return d, nil
}

// AlignColumns reorders the features of the tabular set s (named by s.FeatureNames) into the
// order of want, dropping extra columns; a missing column is an error naming it.
func AlignColumns(s *data.Set, want []string, what string) error {
	if slices.Equal(s.FeatureNames, want) {
		return nil
	}
	at := map[string]int{}
	for i, n := range s.FeatureNames {
		at[n] = i
	}
	idx := make([]int, len(want))
	for j, n := range want {
		i, ok := at[n]
		if !ok {
			return fmt.Errorf("%s: no column %q (the model needs the columns %s)", what, n, ListColumns(want))
		}
		idx[j] = i
	}
	d, n := s.Dim(), s.N()
	x := make([]float32, n*len(want))
	for r := range n {
		row := s.X[r*d : (r+1)*d]
		for j, i := range idx {
			x[r*len(want)+j] = row[i]
		}
	}
	s.X, s.Shape, s.FeatureNames = x, []int{len(want)}, slices.Clone(want)
	return nil
}

// Logits runs the model in evaluation mode on n rows x, batch rows at a time, and returns the
// n × Outputs outputs.
func Logits(m *nn.Model, w, x []float32, n, batch int) []float32 {
	d, k := m.InDim(), m.Spec.Outputs
	out := make([]float32, n*k)
	c := &nn.Ctx{}
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		copy(out[lo*k:hi*k], m.Forward(c, w, x[lo*d:hi*d], hi-lo))
	}
	return out
}

// Predictions turns logits (n rows of k outputs) into classes and probabilities: softmax, or
// for one logit (bce) the sigmoid as the probability of class 1. Ties go to the first class,
// as in the accuracy that training reports.
func Predictions(logits []float32, n, k int) (class []int, prob [][]float64) {
	class = make([]int, n)
	prob = make([][]float64, n)
	for r := range n {
		z := logits[r*k : (r+1)*k]
		if k == 1 {
			p1 := 1 / (1 + math.Exp(-float64(z[0])))
			prob[r] = []float64{1 - p1, p1}
			if z[0] > 0 {
				class[r] = 1
			}
			continue
		}
		best := 0
		mx := float64(z[0])
		for j, v := range z {
			if v > z[best] {
				best = j
			}
			mx = math.Max(mx, float64(v))
		}
		p := make([]float64, k)
		var sum float64
		for j, v := range z {
			p[j] = math.Exp(float64(v) - mx)
			sum += p[j]
		}
		for j := range p {
			p[j] /= sum
		}
		class[r], prob[r] = best, p
	}
	return class, prob
}

func marshalPreprocess(p *Preprocess) (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

// ListColumns joins column names for an error message, eliding all but the first eight.
func ListColumns(cols []string) string {
	if len(cols) <= 8 {
		return strings.Join(cols, ", ")
	}
	return fmt.Sprintf("%s, … (%d in all)", strings.Join(cols[:8], ", "), len(cols))
}
