package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Tensor{
		{Name: "fc1.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), 0, 1e-30}},
		{Name: "fc1.bias", Shape: []int{2}, Data: []float32{0.25, -0.5}},
		{Name: "scalar", Shape: []int{}, Data: []float32{7}},
	}
	p := filepath.Join(t.TempDir(), "m.safetensors")
	if err := WriteFile(p, in, map[string]string{"spec": `{"model":"mlp"}`}); err != nil {
		t.Fatal(err)
	}
	out, meta, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if meta["spec"] != `{"model":"mlp"}` {
		t.Fatalf("metadata %v", meta)
	}
	if len(out) != len(in) {
		t.Fatalf("%d tensors", len(out))
	}
	for i := range in {
		if out[i].Name != in[i].Name || len(out[i].Shape) != len(in[i].Shape) {
			t.Fatalf("tensor %d: %+v", i, out[i])
		}
		for j := range in[i].Data {
			if math.Float32bits(out[i].Data[j]) != math.Float32bits(in[i].Data[j]) {
				t.Fatalf("%s[%d] = %g", in[i].Name, j, out[i].Data[j])
			}
		}
	}
}

// TestLayout pins the byte layout that other readers (Python's safetensors) rely on.
func TestLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || int(8+n+4) != len(b) {
		t.Fatalf("header length %d, file %d bytes", n, len(b))
	}
	h := strings.TrimRight(string(b[8:8+n]), " ")
	if h != `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}` {
		t.Fatalf("header %s", h)
	}
	if math.Float32frombits(binary.LittleEndian.Uint32(b[8+n:])) != 1 {
		t.Fatal("data bytes wrong")
	}
}

func TestDecodeErrors(t *testing.T) {
	var good bytes.Buffer
	Encode(&good, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, 2}}}, nil)
	g := good.Bytes()
	hdr := func(s string) []byte {
		b := make([]byte, 8, 8+len(s)+8)
		binary.LittleEndian.PutUint64(b, uint64(len(s)))
		return append(append(b, s...), make([]byte, 8)...)
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"short":        g[:5],
		"huge header":  append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, g[8:]...),
		"truncated":    g[:len(g)-3],
		"trailing":     append(append([]byte(nil), g...), 1, 2, 3, 4),
		"bad json":     hdr(`{"a":`),
		"dtype":        hdr(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`),
		"shape":        hdr(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`),
		"negative dim": hdr(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`),
		"gap":          hdr(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`),
		"bad metadata": hdr(`{"__metadata__":{"x":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`),
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := Decode(b)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
		})
	}
}
