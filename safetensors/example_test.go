package safetensors_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/safetensors"
	"github.com/samgo/sam/train"
)

// ExampleReadFile reads the checkpoint of a `sam train` run (train.Run writes
// out/model.safetensors): one float32 tensor per parameter, named like PyTorch, with the model
// spec and the run's config in the header metadata, so any safetensors reader (Python's
// safetensors.torch.load_file too) can load it.
func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	c := &train.Config{Data: "iris", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{8}, Activation: "relu", Loss: "ce"},
		Optimizer: optim.Config{Name: "adam"}, SAM: sam.Config{Rho: 0.05}, LR: 0.01,
		Schedule: optim.Schedule{Kind: "constant"}, BatchSize: 16, Epochs: 2, Seed: 1,
		TestFraction: 0.2, Standardize: true}
	d, err := train.Prepare(c)
	if err != nil {
		panic(err)
	}
	if _, err := train.Run(c, d, dir, "", train.Observer{}); err != nil {
		panic(err)
	}

	tensors, meta, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		panic(err)
	}
	for _, t := range tensors {
		fmt.Println(t.Name, t.Shape, len(t.Data))
	}
	fmt.Println("format:", meta["format"])
	fmt.Println("spec:", meta["spec"])
	var cfg train.Config
	if err := json.Unmarshal([]byte(meta["config"]), &cfg); err != nil {
		panic(err)
	}
	fmt.Println("config: data", cfg.Data, "rho", cfg.SAM.Rho)
	// Output:
	// fc1.weight [8 4] 32
	// fc1.bias [8] 8
	// fc2.weight [3 8] 24
	// fc2.bias [3] 3
	// format: sam/v1
	// spec: {"model":"mlp","input":[4],"outputs":3,"hidden":[8],"activation":"relu","loss":"ce"}
	// config: data iris rho 0.05
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
