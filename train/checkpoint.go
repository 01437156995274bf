package train

import (
	"encoding/json"
	"fmt"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/safetensors"
)

// Checkpoint metadata keys in the safetensors header.
const (
	metaFormat = "format" // "sam/v1"
	metaSpec   = "spec"   // JSON of nn.Spec: enough to rebuild the architecture
	metaConfig = "config" // JSON of the training Config (data, splits, seed, ...)
	// MetaClasses is the key of the class names (a JSON array, indexed by label), when the data name them.
	MetaClasses = "classes"
)

// SaveModel writes the weights as safetensors, one tensor per span (named as the span, float32,
// true shape), with the model spec and the run config in the header metadata.
func SaveModel(path string, m *nn.Model, w []float32, c *Config) error {
	spec, err := json.Marshal(m.Spec)
	if err != nil {
		return err
	}
	meta := map[string]string{metaFormat: "sam/v1", metaSpec: string(spec)}
	if c != nil {
		cfg, err := json.Marshal(c)
		if err != nil {
			return err
		}
		meta[metaConfig] = string(cfg)
		if len(c.ClassNames) > 0 {
			names, err := json.Marshal(c.ClassNames)
			if err != nil {
				return err
			}
			meta[MetaClasses] = string(names)
		}
	}
	ts := make([]safetensors.Tensor, 0, len(m.Layout.Spans))
	for _, s := range m.Layout.Spans {
		ts = append(ts, safetensors.Tensor{Name: s.Name, Shape: s.Shape, Data: s.Of(w)})
	}
	for _, b := range m.Buffers() {
		ts = append(ts, safetensors.Tensor{Name: b.Name, Shape: b.Shape, Data: b.Data})
	}
	return safetensors.WriteFile(path, ts, meta)
}

// LoadModel reads a checkpoint written by SaveModel: it rebuilds the model from the spec in the
// header and fills the flat weight vector by span name. The returned Config is nil when the file
// carries none.
func LoadModel(path string) (*nn.Model, []float32, *Config, error) {
	ts, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if meta[metaSpec] == "" {
		return nil, nil, nil, fmt.Errorf("%s: no model spec in the safetensors metadata (not written by sam?)", path)
	}
	var spec nn.Spec
	if err := json.Unmarshal([]byte(meta[metaSpec]), &spec); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: corrupt model spec: %v", path, err)
	}
	m, err := nn.Build(spec)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	w := make([]float32, m.Layout.Size())
	want := map[string][]float32{} // every parameter span and buffer, by name
	shapes := map[string][]int{}
	for _, s := range m.Layout.Spans {
		want[s.Name], shapes[s.Name] = s.Of(w), s.Shape
	}
	for _, b := range m.Buffers() {
		want[b.Name], shapes[b.Name] = b.Data, b.Shape
	}
	for _, t := range ts {
		dst, ok := want[t.Name]
		if !ok {
			return nil, nil, nil, fmt.Errorf("%s: unexpected tensor %s for %s", path, t.Name, spec.Model)
		}
		if fmt.Sprint(shapes[t.Name]) != fmt.Sprint(t.Shape) {
			return nil, nil, nil, fmt.Errorf("%s: tensor %s has shape %v, the model needs %v", path, t.Name, t.Shape, shapes[t.Name])
		}
		copy(dst, t.Data)
		delete(want, t.Name)
	}
	for name := range want {
		return nil, nil, nil, fmt.Errorf("%s: tensor %s is missing", path, name)
	}
	var cfg *Config
	if meta[metaConfig] != "" {
		cfg = new(Config)
		if err := json.Unmarshal([]byte(meta[metaConfig]), cfg); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: corrupt run config: %v", path, err)
		}
		if meta[MetaClasses] != "" {
			if err := json.Unmarshal([]byte(meta[MetaClasses]), &cfg.ClassNames); err != nil {
				return nil, nil, nil, fmt.Errorf("%s: corrupt class names: %v", path, err)
			}
		}
	}
	return m, w, cfg, nil
}
