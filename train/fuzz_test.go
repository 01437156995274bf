package train

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/safetensors"
)

// seedCheckpoints returns the bytes of small real checkpoints (an MLP with its preprocessing
// and a BatchNorm ResNet) for the fuzzer to start from.
func seedCheckpoints(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	for _, spec := range []nn.Spec{
		{Model: "mlp", Hidden: []int{3}, Loss: "ce"},
		{Model: "resnet", Input: []int{1, 4, 4}, Outputs: 2, Loss: "ce"},
	} {
		c := &Config{Data: "iris", Task: "classification", Model: spec, Optimizer: optim.Config{Name: "sgd"},
			LR: 0.1, Schedule: optim.Schedule{Kind: "constant"}, Steps: 1, ValFraction: 0.1, TestFraction: 0.2, Standardize: true}
		var pre *Preprocess
		if spec.Model == "mlp" {
			d, err := Prepare(c)
			if err != nil {
				f.Fatal(err)
			}
			pre = NewPreprocess(c, d)
		}
		m, err := nn.Build(c.Model)
		if err != nil {
			f.Fatal(err)
		}
		w, _ := m.Init("default", 1)
		p := filepath.Join(f.TempDir(), "m.safetensors")
		if err := SaveModel(p, m, w, c, pre); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeCheckpoint: no file makes the checkpoint reader panic or build a model larger than
// the file; what it accepts has weights and preprocessing that fit the model.
func FuzzDecodeCheckpoint(f *testing.F) {
	for _, b := range seedCheckpoints(f) {
		f.Add(b)
	}
	// A header whose spec claims a huge layer over a tiny tensor.
	spec, _ := json.Marshal(nn.Spec{Model: "mlp", Input: []int{4}, Outputs: 3, Hidden: []int{1 << 40}, Loss: "ce"})
	var buf bytes.Buffer
	safetensors.Encode(&buf, []safetensors.Tensor{{Name: "fc1.weight", Shape: []int{1}, Data: []float32{1}}}, map[string]string{metaSpec: string(spec)})
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := DecodeCheckpoint(b)
		if err != nil {
			return
		}
		if len(ck.Weights) != ck.Model.Layout.Size() || 4*len(ck.Weights) > len(b) {
			t.Fatalf("%d weights for %d parameters from %d bytes", len(ck.Weights), ck.Model.Layout.Size(), len(b))
		}
		if p := ck.Pre; p != nil && p.Dim() <= 4096 { // a forward pass on larger inputs is slow, not wrong
			if p.Dim() != ck.Model.InDim() || (p.Standardize != nil && len(p.Standardize.Mean) != p.Dim()) {
				t.Fatalf("preprocessing %+v for input %v", p, ck.Model.Spec.Input)
			}
			x := make([]float32, p.Dim())
			if p.Standardize != nil {
				p.Standardize.ApplyRows(x)
			}
			Logits(ck.Model, ck.Weights, x, 1, 1)
		}
	})
}
