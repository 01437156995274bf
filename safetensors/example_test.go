package safetensors_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/safetensors"
	"github.com/samgo/sam/train"
)

// ExampleReadFile reads a checkpoint as `sam train` writes it (train.SaveModel): one float32
// tensor per parameter, named like PyTorch, with the model spec in the header metadata, so any
// safetensors reader (Python's safetensors.torch.load_file too) can load it.
func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	m, err := nn.Build(nn.Spec{Model: "mlp", Input: []int{4}, Outputs: 3, Hidden: []int{8}, Loss: "ce"})
	if err != nil {
		panic(err)
	}
	w, err := m.Init("default", 1)
	if err != nil {
		panic(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := train.SaveModel(path, m, w, nil); err != nil {
		panic(err)
	}

	tensors, meta, err := safetensors.ReadFile(path)
	if err != nil {
		panic(err)
	}
	for _, t := range tensors {
		fmt.Println(t.Name, t.Shape, len(t.Data))
	}
	fmt.Println("format:", meta["format"])
	fmt.Println("spec:", meta["spec"])
	// Output:
	// fc1.weight [8 4] 32
	// fc1.bias [8] 8
	// fc2.weight [3 8] 24
	// fc2.bias [3] 3
	// format: sam/v1
	// spec: {"model":"mlp","input":[4],"outputs":3,"hidden":[8],"activation":"relu","loss":"ce"}
}

// ExampleEncode writes two tensors with metadata to memory and decodes them.
func ExampleEncode() {
	var buf bytesBuffer
	err := safetensors.Encode(&buf, []safetensors.Tensor{
		{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		{Name: "b", Shape: []int{2}, Data: []float32{0.5, -0.5}},
	}, map[string]string{"note": "hello"})
	if err != nil {
		panic(err)
	}
	tensors, meta, err := safetensors.Decode(buf.b)
	if err != nil {
		panic(err)
	}
	for _, t := range tensors {
		fmt.Println(t.Name, t.Shape, t.Data)
	}
	fmt.Println(meta["note"])
	_, _, err = safetensors.Decode(buf.b[:20])
	fmt.Println(err)
	// Output:
	// w [2 2] [1 2 3 4]
	// b [2] [0.5 -0.5]
	// hello
	// not a safetensors file or truncated: header length 144, file 20 bytes
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
