package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/samgo/sam/internal/atomic"
)

// Tensor is a named float32 tensor.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

type entry struct {
	Dtype   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header a reader accepts (the reference implementation uses 100 MB).
const maxHeader = 100 << 20

// Encode writes tensors (in the given order) and metadata to w.
func Encode(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %s: shape %v has %d elements, data %d", t.Name, t.Shape, n, len(t.Data))
		}
		if t.Name == "__metadata__" || t.Name == "" {
			return fmt.Errorf("safetensors: invalid tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: duplicate tensor name %s", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{Dtype: "F32", Shape: shape, Offsets: [2]int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	for len(h)%8 != 0 { // pad with spaces so the data starts 8-byte aligned, as the reference writer does
		h = append(h, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(h)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// WriteFile writes the tensors to path atomically (temporary file, then rename).
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return atomic.WriteFile(path, func(w io.Writer) error { return Encode(w, tensors, metadata) })
}

// Decode parses a whole safetensors file held in b. Tensors come back in offset order.
// Only float32 tensors are supported. Errors are one line.
func Decode(b []byte) ([]Tensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, errors.New("not a safetensors file: shorter than its 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > maxHeader || n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("not a safetensors file or truncated: header length %d, file %d bytes", n, len(b))
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b[8 : 8+n]))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("corrupt safetensors header: %v", err)
	}
	data := b[8+n:]
	var meta map[string]string
	var ts []Tensor
	type span struct {
		lo, hi int64
		i      int
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("corrupt safetensors metadata: %v", err)
			}
			continue
		}
		if name == "" {
			return nil, nil, errors.New("corrupt safetensors header: a tensor with an empty name")
		}
		e, err := parseEntry(msg)
		if err != nil {
			return nil, nil, fmt.Errorf("corrupt safetensors entry %s: %v", name, err)
		}
		if e.Dtype != "F32" {
			return nil, nil, fmt.Errorf("tensor %s has dtype %s; only F32 is supported", name, e.Dtype)
		}
		count := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && count > math.MaxInt32/int64(d)) {
				return nil, nil, fmt.Errorf("tensor %s has invalid shape %v", name, e.Shape)
			}
			count *= int64(d)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || hi-lo != 4*count {
			return nil, nil, fmt.Errorf("tensor %s: data offsets [%d,%d) do not fit shape %v in a %d-byte buffer (truncated file?)", name, lo, hi, e.Shape, len(data))
		}
		v := make([]float32, count)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[lo+4*int64(i):]))
		}
		spans = append(spans, span{lo, hi, len(ts)})
		ts = append(ts, Tensor{Name: name, Shape: e.Shape, Data: v})
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].lo < spans[b].lo })
	var end int64
	out := make([]Tensor, len(ts))
	for k, s := range spans {
		if s.lo != end {
			return nil, nil, fmt.Errorf("tensor %s: data offsets overlap or leave a gap", ts[s.i].Name)
		}
		end = s.hi
		out[k] = ts[s.i]
	}
	if end != int64(len(data)) {
		return nil, nil, fmt.Errorf("safetensors: %d trailing bytes after the last tensor", int64(len(data))-end)
	}
	return out, meta, nil
}

// parseEntry reads a tensor's header entry strictly, as the reference implementation does:
// exactly the keys dtype, shape and data_offsets (case-sensitive), offsets a pair.
func parseEntry(msg json.RawMessage) (entry, error) {
	var e entry
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(msg, &fields); err != nil {
		return e, err
	}
	var offsets []int64
	for key, dst := range map[string]any{"dtype": &e.Dtype, "shape": &e.Shape, "data_offsets": &offsets} {
		v, ok := fields[key]
		if !ok {
			return e, fmt.Errorf("no %s", key)
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return e, fmt.Errorf("%s: %v", key, err)
		}
	}
	if len(fields) != 3 {
		return e, errors.New("keys other than dtype, shape and data_offsets")
	}
	if len(offsets) != 2 {
		return e, fmt.Errorf("data_offsets %v is not a pair", offsets)
	}
	if e.Shape == nil {
		e.Shape = []int{}
	}
	e.Offsets = [2]int64{offsets[0], offsets[1]}
	return e, nil
}

// ReadFile reads and decodes path; errors name the file.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	ts, meta, err := Decode(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	return ts, meta, nil
}
