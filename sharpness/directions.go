package sharpness

import (
	"fmt"
	"strings"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/safetensors"
)

// SaveDirection writes a direction in weight space as safetensors, one tensor per parameter span
// named and shaped like the weights (so that any tool that reads the checkpoint reads it), plus
// one per BatchNorm buffer when stats is not nil (stats[i] for the model's i-th buffer).
func SaveDirection(path string, l *param.Layout, d []float32, bufs []nn.Buffer, stats [][]float32, meta map[string]string) error {
	if len(d) != l.Size() {
		return fmt.Errorf("sharpness: a direction of %d values for %d parameters", len(d), l.Size())
	}
	ts := make([]safetensors.Tensor, 0, len(l.Spans)+len(bufs))
	for _, s := range l.Spans {
		ts = append(ts, safetensors.Tensor{Name: s.Name, Shape: s.Shape, Data: s.Of(d)})
	}
	if stats != nil {
		for i, b := range bufs {
			ts = append(ts, safetensors.Tensor{Name: b.Name, Shape: b.Shape, Data: stats[i]})
		}
	}
	return safetensors.WriteFile(path, ts, meta)
}

// LoadDirection reads a direction written by SaveDirection (or by any tool, with tensors named
// and shaped like the model's parameters): every parameter tensor must be there; BatchNorm
// buffer tensors are optional (stats is nil when the file has none, else one slice per buffer,
// zero where absent). Other tensors are an error naming them.
func LoadDirection(path string, l *param.Layout, bufs []nn.Buffer) (d []float32, stats [][]float32, err error) {
	ts, _, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	d = make([]float32, l.Size())
	want := map[string][]float32{}
	shapes := map[string][]int{}
	for _, s := range l.Spans {
		want[s.Name], shapes[s.Name] = s.Of(d), s.Shape
	}
	bufIdx := map[string]int{}
	for i, b := range bufs {
		bufIdx[b.Name] = i
		shapes[b.Name] = b.Shape
	}
	for _, t := range ts {
		dst, ok := want[t.Name]
		if i, isBuf := bufIdx[t.Name]; isBuf {
			if stats == nil {
				stats = make([][]float32, len(bufs))
				for j, b := range bufs {
					stats[j] = make([]float32, len(b.Data))
				}
			}
			dst, ok = stats[i], true
		}
		if !ok {
			return nil, nil, fmt.Errorf("%s: tensor %s is not a parameter of the model", path, t.Name)
		}
		if fmt.Sprint(shapes[t.Name]) != fmt.Sprint(t.Shape) {
			return nil, nil, fmt.Errorf("%s: tensor %s has shape %v, the model's is %v", path, t.Name, t.Shape, shapes[t.Name])
		}
		copy(dst, t.Data)
		delete(want, t.Name)
	}
	if len(want) > 0 {
		var missing []string
		for _, s := range l.Spans {
			if _, ok := want[s.Name]; ok {
				missing = append(missing, s.Name)
			}
		}
		return nil, nil, fmt.Errorf("%s: lacks the parameter tensors %s", path, strings.Join(missing, ", "))
	}
	return d, stats, nil
}

// Stats moves a model's BatchNorm running statistics along directions, for landscapes that
// perturb them with the weights (loss-landscape's option of including the BN buffers).
type Stats struct {
	bufs []nn.Buffer
	base [][]float32
}

// NewStats records the model's current buffers as the origin.
func NewStats(m *nn.Model) *Stats {
	s := &Stats{bufs: m.Buffers()}
	for _, b := range s.bufs {
		s.base = append(s.base, append([]float32(nil), b.Data...))
	}
	return s
}

// Empty reports whether the model has no buffers.
func (s *Stats) Empty() bool { return len(s.bufs) == 0 }

// Buffers are the model's buffers (live: At and Restore write into them).
func (s *Stats) Buffers() []nn.Buffer { return s.bufs }

// Direction is the direction of loss-landscape's filter normalisation for one-dimensional
// tensors kept in the direction: a copy of the statistics themselves, so that w + α·d scales
// each running mean and variance by 1 + α.
func (s *Stats) Direction() [][]float32 {
	d := make([][]float32, len(s.base))
	for i, b := range s.base {
		d[i] = append([]float32(nil), b...)
	}
	return d
}

// At sets the buffers to origin + α·d1 + β·d2 (d2 may be nil); running variances are floored at
// 0 (BatchNorm's ε keeps the normalisation finite).
func (s *Stats) At(alpha float64, d1 [][]float32, beta float64, d2 [][]float32) {
	for i, b := range s.bufs {
		isVar := strings.HasSuffix(b.Name, "running_var")
		for j := range b.Data {
			v := float64(s.base[i][j])
			if d1 != nil {
				v += alpha * float64(d1[i][j])
			}
			if d2 != nil {
				v += beta * float64(d2[i][j])
			}
			if isVar && v < 0 {
				v = 0
			}
			b.Data[j] = float32(v)
		}
	}
}

// Restore puts the original statistics back.
func (s *Stats) Restore() {
	for i, b := range s.bufs {
		copy(b.Data, s.base[i])
	}
}
