package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/train"
)

// torchPython finds a Python with PyTorch: $SAM_PYTHON, python3 on the PATH, or Debian's
// /usr/bin/python3 (where apt-get install python3-torch puts it).
func torchPython() (string, string) {
	var tried []string
	for _, py := range []string{os.Getenv("SAM_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		if p, err := exec.LookPath(py); err == nil {
			if exec.Command(p, "-c", "import torch").Run() == nil {
				return p, ""
			}
			tried = append(tried, p)
		}
	}
	return "", fmt.Sprintf("no Python with PyTorch (tried %s; apt-get install python3-torch, or set SAM_PYTHON)", strings.Join(tried, ", "))
}

// TestTorchRoundTrip: scripts/torch_roundtrip.py rebuilds each architecture in PyTorch, loads
// model.safetensors and reproduces sam predict's logits within 1e-4 (MLP, CNN, and the
// BatchNorm ResNet with running statistics from training).
func TestTorchRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the PyTorch round trip starts Python three times")
	}
	py, why := torchPython()
	if py == "" {
		t.Skip(why)
	}
	dir := t.TempDir()
	src, err := data.Open("digits", data.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var input string
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"mlp", []string{"--model", "mlp", "--hidden", "32,16", "--activation", "tanh"}},
		{"cnn", []string{"--model", "cnn"}},
		{"resnet", []string{"--model", "resnet", "--width", "1", "--blocks", "2"}},
	} {
		out := filepath.Join(dir, tc.name)
		args := append([]string{"train", "--data", "digits", "--steps", "15", "--batch-size", "64", "--opt", "sgd",
			"--momentum", "0.9", "--lr", "0.05", "--out", out, "--quiet"}, tc.args...)
		if code, _, e := runSam(t, args...); code != 0 {
			t.Fatal(e)
		}
		model := filepath.Join(out, "model.safetensors")
		if input == "" { // the raw digits rows under the checkpoint's column names, reversed
			ck, err := train.Load(model)
			if err != nil {
				t.Fatal(err)
			}
			cols := ck.Pre.Columns
			var b strings.Builder
			for j := len(cols) - 1; j >= 0; j-- {
				b.WriteString(cols[j] + ",")
			}
			b.WriteString("label\n")
			for i := range 200 {
				row := src.Train.X[i*64 : (i+1)*64]
				for j := len(cols) - 1; j >= 0; j-- {
					b.WriteString(strconv.FormatFloat(float64(row[j]), 'g', -1, 32) + ",")
				}
				fmt.Fprintf(&b, "%d\n", src.Train.Labels[i])
			}
			input = write(t, dir, "digits.csv", b.String())
		}
		preds := filepath.Join(dir, tc.name+"-preds.csv")
		if code, _, e := runSam(t, "predict", "--model", model, "--input", input, "--logits", "--output", preds); code != 0 {
			t.Fatal(e)
		}
		cmd := exec.Command(py, filepath.Join("..", "..", "scripts", "torch_roundtrip.py"), model, input, "--compare", preds, "--tol", "1e-4")
		o, err := cmd.CombinedOutput()
		t.Logf("%s", strings.TrimSpace(string(o)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !strings.Contains(string(o), "max abs difference") {
			t.Fatalf("%s: no comparison in the output", tc.name)
		}
	}
}
