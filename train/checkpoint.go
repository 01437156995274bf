package train

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/safetensors"
)

// Checkpoint metadata keys in the safetensors header.
const (
	metaFormat = "format" // "sam/v1"
	metaSpec   = "spec"   // JSON of nn.Spec: enough to rebuild the architecture
	metaConfig = "config" // JSON of the training Config (data, splits, seed, ...)
	// MetaClasses is the key of the class names (a JSON array, indexed by label) in files
	// without preprocessing (written before it was stored, or by SaveModel with pre nil);
	// otherwise they are the preprocessing's class_names alone.
	MetaClasses = "classes"
)

// SaveModel writes the weights as safetensors, one tensor per span (named as the span, float32,
// true shape), with the model spec, the run config and the preprocessing (when not nil) in the
// header metadata.
func SaveModel(path string, m *nn.Model, w []float32, c *Config, pre *Preprocess) error {
	ts, meta, err := modelFile(m, w, c, pre)
	if err != nil {
		return err
	}
	return safetensors.WriteFile(path, ts, meta)
}

// modelFile is the content of SaveModel's file: the tensors and the header metadata.
func modelFile(m *nn.Model, w []float32, c *Config, pre *Preprocess) ([]safetensors.Tensor, map[string]string, error) {
	spec, err := json.Marshal(m.Spec)
	if err != nil {
		return nil, nil, err
	}
	meta := map[string]string{metaFormat: "sam/v1", metaSpec: string(spec)}
	if c != nil {
		cfg, err := json.Marshal(c)
		if err != nil {
			return nil, nil, err
		}
		meta[metaConfig] = string(cfg)
		if len(c.ClassNames) > 0 && pre == nil {
			names, err := json.Marshal(c.ClassNames)
			if err != nil {
				return nil, nil, err
			}
			meta[MetaClasses] = string(names)
		}
	}
	if pre != nil {
		if meta[metaPreprocess], err = marshalPreprocess(pre); err != nil {
			return nil, nil, err
		}
	}
	ts := make([]safetensors.Tensor, 0, len(m.Layout.Spans))
	for _, s := range m.Layout.Spans {
		ts = append(ts, safetensors.Tensor{Name: s.Name, Shape: s.Shape, Data: s.Of(w)})
	}
	for _, b := range m.Buffers() {
		ts = append(ts, safetensors.Tensor{Name: b.Name, Shape: b.Shape, Data: b.Data})
	}
	return ts, meta, nil
}

// Checkpoint is a model read back from a file written by SaveModel.
type Checkpoint struct {
	Path    string
	Model   *nn.Model
	Weights []float32
	Config  *Config     // nil when the file carries none
	Pre     *Preprocess // nil in files written before it was saved (see Preprocessing)
}

// LoadModel reads a checkpoint written by SaveModel: it rebuilds the model from the spec in the
// header and fills the flat weight vector by span name. The returned Config is nil when the file
// carries none.
func LoadModel(path string) (*nn.Model, []float32, *Config, error) {
	ck, err := Load(path)
	if err != nil {
		return nil, nil, nil, err
	}
	return ck.Model, ck.Weights, ck.Config, nil
}

// Load reads a checkpoint written by SaveModel. Errors are one line naming the file.
func Load(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ck, err := DecodeCheckpoint(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ck.Path = path
	return ck, nil
}

// maxInput bounds the values of one input example a checkpoint may declare (16 Mi: a
// 2048×2048 RGB image has 12.6 Mi).
const maxInput = 1 << 24

// checkSpecSizes bounds every size in a model spec read from a file by the number of values the
// file stores, so that a hostile header cannot make the model allocate more than the file holds.
func checkSpecSizes(spec nn.Spec, stored int) error {
	sizes := append(append([]int{spec.Outputs, spec.Width * 64, spec.Blocks}, spec.Hidden...), spec.Input...)
	for _, v := range sizes {
		if v > stored || v < 0 {
			return fmt.Errorf("model spec size %d exceeds the %d values the file stores", v, stored)
		}
	}
	// Convolutional models have as many weights for any image size: bound the input itself.
	in := 1
	for _, v := range spec.Input {
		if v <= 0 || in > maxInput/v {
			return fmt.Errorf("model input shape %v is larger than %d values", spec.Input, maxInput)
		}
		in *= v
	}
	return nil
}

// DecodeCheckpoint parses a whole checkpoint file held in b. Errors are one line.
func DecodeCheckpoint(b []byte) (*Checkpoint, error) {
	ts, meta, err := safetensors.Decode(b)
	if err != nil {
		return nil, err
	}
	return decodeModel(ts, meta)
}

// decodeModel builds the checkpoint of a model file's tensors and metadata.
func decodeModel(ts []safetensors.Tensor, meta map[string]string) (*Checkpoint, error) {
	if meta[metaSpec] == "" {
		return nil, fmt.Errorf("no model spec in the safetensors metadata (not written by sam?)")
	}
	var spec nn.Spec
	if err := json.Unmarshal([]byte(meta[metaSpec]), &spec); err != nil {
		return nil, fmt.Errorf("corrupt model spec: %v", err)
	}
	stored := 0
	for _, t := range ts {
		stored += len(t.Data)
	}
	if err := checkSpecSizes(spec, stored); err != nil {
		return nil, err
	}
	m, err := nn.Build(spec)
	if err != nil {
		return nil, err
	}
	want := map[string][]float32{} // every parameter span and buffer, by name
	shapes := map[string][]int{}
	need := m.Layout.Size()
	for _, b := range m.Buffers() {
		need += len(b.Data)
	}
	if need != stored {
		return nil, fmt.Errorf("the %s model has %d values, the file stores %d", spec.Model, need, stored)
	}
	w := make([]float32, m.Layout.Size())
	for _, s := range m.Layout.Spans {
		want[s.Name], shapes[s.Name] = s.Of(w), s.Shape
	}
	for _, b := range m.Buffers() {
		want[b.Name], shapes[b.Name] = b.Data, b.Shape
	}
	for _, t := range ts {
		dst, ok := want[t.Name]
		if !ok {
			return nil, fmt.Errorf("unexpected tensor %s for %s", t.Name, spec.Model)
		}
		if fmt.Sprint(shapes[t.Name]) != fmt.Sprint(t.Shape) {
			return nil, fmt.Errorf("tensor %s has shape %v, the model needs %v", t.Name, t.Shape, shapes[t.Name])
		}
		copy(dst, t.Data)
		delete(want, t.Name)
	}
	for name := range want {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	ck := &Checkpoint{Model: m, Weights: w}
	if meta[metaConfig] != "" {
		ck.Config = new(Config)
		if err := json.Unmarshal([]byte(meta[metaConfig]), ck.Config); err != nil {
			return nil, fmt.Errorf("corrupt run config: %v", err)
		}
		if meta[MetaClasses] != "" {
			if err := json.Unmarshal([]byte(meta[MetaClasses]), &ck.Config.ClassNames); err != nil {
				return nil, fmt.Errorf("corrupt class names: %v", err)
			}
		}
	}
	if meta[metaPreprocess] != "" {
		ck.Pre = new(Preprocess)
		if err := json.Unmarshal([]byte(meta[metaPreprocess]), ck.Pre); err != nil {
			return nil, fmt.Errorf("corrupt preprocessing: %v", err)
		}
		if err := ck.Pre.check(spec); err != nil {
			return nil, err
		}
		if ck.Config != nil && len(ck.Config.ClassNames) == 0 {
			ck.Config.ClassNames = slices.Clone(ck.Pre.ClassNames)
		}
	}
	return ck, nil
}
