package safetensors

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

func encoded(t testing.TB, ts []Tensor, meta map[string]string) []byte {
	var buf bytes.Buffer
	if err := Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHeader is a file whose header is h (padded to 8 bytes) followed by data.
func withHeader(h string, data []byte) []byte {
	for len(h)%8 != 0 {
		h += " "
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(b, h...), data...)
}

// TestHostileHeaders: header lengths, offsets, dtypes and shapes that lie are one-line errors,
// not allocations or panics; a header that claims 2⁶³ bytes among them.
func TestHostileHeaders(t *testing.T) {
	huge := binary.LittleEndian.AppendUint64(nil, 1<<63)
	for name, b := range map[string][]byte{
		"2^63 header":          append(huge, []byte("{}")...),
		"max header":           append(binary.LittleEndian.AppendUint64(nil, ^uint64(0)), []byte("{}")...),
		"header past the end":  append(binary.LittleEndian.AppendUint64(nil, 64), []byte("{}")...),
		"huge shape":           withHeader(`{"w":{"dtype":"F32","shape":[1073741824,1073741824],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"offsets past the end": withHeader(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 4)),
		"offset 2^63":          withHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[9223372036854775804,9223372036854775807]}}`, make([]byte, 4)),
		"negative offset":      withHeader(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, make([]byte, 4)),
		"negative dim":         withHeader(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"shape mismatch":       withHeader(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"dtype F16":            withHeader(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"overlap":              withHeader(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)),
		"metadata not strings": withHeader(`{"__metadata__":{"a":1}}`, nil),
		"not json":             withHeader(`{"w":`, nil),
	} {
		_, _, err := Decode(b)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// FuzzDecode: no input makes Decode panic or allocate beyond its size; what it accepts encodes
// back to a file that decodes to the same tensors and metadata.
func FuzzDecode(f *testing.F) {
	f.Add(encoded(f, []Tensor{{Name: "fc1.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "fc1.bias", Shape: []int{2}, Data: []float32{-1, 1}}}, map[string]string{"format": "sam/v1"}))
	f.Add(encoded(f, []Tensor{{Name: "s", Shape: []int{}, Data: []float32{7}}}, nil))
	f.Add(encoded(f, []Tensor{{Name: "e", Shape: []int{0, 4}, Data: []float32{}}}, nil))
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 1<<63), []byte("{}")...))
	f.Add(withHeader(`{"w":{"dtype":"F32","shape":[1073741824,4],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(withHeader(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, meta, err := Decode(b)
		if err != nil {
			return
		}
		n := 0
		for _, tt := range ts {
			n += 4 * len(tt.Data)
		}
		if n > len(b) {
			t.Fatalf("%d bytes of tensors from a %d-byte file", n, len(b))
		}
		ts2, meta2, err := Decode(encoded(t, ts, meta))
		if err != nil {
			t.Fatalf("re-encoded file: %v", err)
		}
		if len(ts) != len(ts2) || (len(meta) > 0 && !reflect.DeepEqual(meta, meta2)) {
			t.Fatalf("round trip: %d → %d tensors, metadata %v → %v", len(ts), len(ts2), meta, meta2)
		}
		for i := range ts {
			if ts[i].Name != ts2[i].Name || !reflect.DeepEqual(ts[i].Shape, ts2[i].Shape) || len(ts[i].Data) != len(ts2[i].Data) {
				t.Fatalf("tensor %d: %v → %v", i, ts[i].Name, ts2[i].Name)
			}
		}
	})
}
