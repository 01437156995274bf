package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/samgo/sam/internal/fixture"
	"github.com/samgo/sam/safetensors"
)

// trainOK runs `sam train` and fails unless it exits 0; it returns stdout and stderr.
func trainOK(t *testing.T, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := runSam(t, append([]string{"train"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	return stdout, stderr
}

// classesOf returns the class names in the metadata of a run's model.safetensors (the
// preprocessing's class_names, and no separate classes entry).
func classesOf(t *testing.T, out string) []string {
	t.Helper()
	_, meta, err := safetensors.ReadFile(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := meta["classes"]; ok {
		t.Fatalf("the class names twice: a classes entry %s beside the preprocessing's", c)
	}
	var pre struct {
		ClassNames []string `json:"class_names"`
	}
	if err := json.Unmarshal([]byte(meta["preprocess"]), &pre); err != nil {
		t.Fatalf("preprocess metadata %q: %v", meta["preprocess"], err)
	}
	return pre.ClassNames
}

// readmeRecipe returns the arguments of the README's CPU CIFAR recipe (the first `sam train
// --data cifar10` command of its Images section), with the values of the flags in set
// replaced; a flag set to "" is dropped with its value.
func readmeRecipe(t *testing.T, set map[string]string) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i := strings.Index(readme, "\nsam train --data cifar10 ")
	if i < 0 {
		t.Fatal("README.md has no `sam train --data cifar10` recipe")
	}
	cmd := readme[i+1:]
	cmd = strings.ReplaceAll(cmd[:strings.Index(cmd, "\n\n")], "\\\n", " ")
	fields := strings.Fields(cmd)[2:] // after "sam train"
	var args []string
	seen := map[string]bool{}
	for j := 0; j < len(fields); j++ {
		f := fields[j]
		v, ok := set[f]
		if !ok {
			args = append(args, f)
			continue
		}
		seen[f] = true
		if j+1 < len(fields) && !strings.HasPrefix(fields[j+1], "--") {
			j++ // the flag's old value
		}
		if v != "" {
			args = append(args, f, v)
		}
	}
	for f := range set {
		if !seen[f] {
			t.Fatalf("the README recipe has no %s flag", f)
		}
	}
	return args
}

// TestCIFARRecipe runs the README's CPU CIFAR recipe end to end, at depth 10, width 1, one
// epoch and batch 8, on tiny CIFAR-10, CIFAR-100 and image-folder trees written in the official
// formats; and checks that a broken image stops the run with one line and nothing written.
func TestCIFARRecipe(t *testing.T) {
	dir := t.TempDir()
	c10, c100, folder := filepath.Join(dir, "c10"), filepath.Join(dir, "c100"), filepath.Join(dir, "pics")
	fixture.WriteCIFAR10(t, filepath.Join(c10, "cifar-10-batches-bin"), 4, 6) // the archive's own folder
	fixture.WriteCIFAR100(t, c100, 30, 6)
	fixture.WriteImageFolder(t, filepath.Join(folder, "train"), []string{"red", "green", "blue"}, 6)
	fixture.WriteImageFolder(t, filepath.Join(folder, "test"), []string{"red", "green", "blue"}, 3)
	small := func(extra map[string]string) []string {
		set := map[string]string{"--depth": "10", "--width": "1", "--epochs": "1", "--batch-size": "8",
			"--data-dir": "", "--out": filepath.Join(dir, "run")}
		for k, v := range extra {
			set[k] = v
		}
		return append(readmeRecipe(t, set), "--quiet")
	}
	recipe := small(map[string]string{"--data-dir": c10, "--out": filepath.Join(dir, "run10")})
	if !slices.Contains(recipe, "--augment") || !slices.Contains(recipe, "wrn") {
		t.Fatalf("recipe %v", recipe)
	}
	out := filepath.Join(dir, "run10")
	stdout, _ := trainOK(t, append(recipe, "--augment", "crop,flip,cutout", "--cutout", "8")...)
	if !strings.Contains(stdout, "test  loss") || !strings.Contains(stdout, "wrn-10-1 [3 32 32]→10") {
		t.Errorf("stdout %q", stdout)
	}
	if names := classesOf(t, out); len(names) != 10 || names[0] != "airplane" {
		t.Errorf("classes %v", names)
	}
	var sum struct {
		TestN  int `json:"test_examples"`
		TrainN int `json:"train_examples"`
		Config struct {
			Images struct {
				Augment map[string]any `json:"augment"`
			} `json:"images"`
		} `json:"config"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &sum); err != nil || sum.TestN != 6 || sum.TrainN != 20 || sum.Config.Images.Augment["cutout"] != 8.0 {
		t.Errorf("summary: %v, %+v", err, sum)
	}

	// Exact Hessian-vector products of the WideResNet, through the checkpoint's own CIFAR data.
	code, stdout, stderr := runSam(t, "sharpness", "--model", filepath.Join(out, "model.safetensors"), "--subset", "8",
		"--hvp", "exact", "--top-k", "1", "--lanczos-steps", "4", "--trace-samples", "0", "--steps", "1", "--quiet", "--out", out)
	if code != 0 || !strings.Contains(stdout, "exact") {
		t.Fatalf("sam sharpness on the WRN: exit %d: %s %s", code, stdout, stderr)
	}
	// The same recipe with Winograd convolutions: the checkpoint's spec says so, and sam eval
	// (which rebuilds the model from it) reproduces the test accuracy training reported.
	out = filepath.Join(dir, "run10w")
	trainOK(t, append(small(map[string]string{"--data-dir": c10, "--out": out}), "--conv", "winograd")...)
	var wsum struct {
		TestAcc float64 `json:"test_acc"`
	}
	b, _ = os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &wsum); err != nil {
		t.Fatal(err)
	}
	if hdr, _ := os.ReadFile(filepath.Join(out, "model.safetensors")); !strings.Contains(string(hdr[:min(len(hdr), 1<<16)]), `\"conv\":\"winograd\"`) {
		t.Errorf("the checkpoint's spec does not name the Winograd convolution")
	}
	code, stdout, stderr = runSam(t, "eval", "--model", filepath.Join(out, "model.safetensors"))
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("accuracy %.2f%%", 100*wsum.TestAcc)) {
		t.Fatalf("sam eval of the Winograd WRN: exit %d: %s %s", code, stdout, stderr)
	}
	out = filepath.Join(dir, "run100")
	t.Setenv("SAM_CIFAR100_DIR", c100)
	trainOK(t, append(small(map[string]string{"--data": "cifar100", "--out": out}), "--cifar100-labels", "coarse")...)
	if names := classesOf(t, out); len(names) != 20 || names[19] != "coarset" {
		t.Errorf("coarse classes %v", names)
	}

	out = filepath.Join(dir, "runpics")
	stdout, _ = trainOK(t, append(small(map[string]string{"--data": "folder:" + folder, "--out": out}), "--image-size", "8")...)
	if names := classesOf(t, out); !slices.Equal(names, []string{"blue", "green", "red"}) {
		t.Errorf("folder classes %v", names)
	}
	if !strings.Contains(stdout, "wrn-10-1 [3 8 8]→3") || !strings.Contains(stdout, "test  loss") {
		t.Errorf("stdout %q", stdout)
	}
	// The same folder, another model, grey and without a validation split.
	stdout, _ = trainOK(t, "--quiet", "--data", "folder:"+folder, "--image-size", "6x5", "--channels", "1", "--model", "cnn", "--opt", "sgd",
		"--lr", "0.05", "--augment", "flip,crop", "--crop-pad", "2", "--batch-size", "4", "--epochs", "3", "--val-fraction", "0", "--out", out)
	if !strings.Contains(stdout, "cnn [1 6 5]→3") {
		t.Errorf("stdout %q", stdout)
	}

	// A broken image: one line naming it, exit 2, nothing written; --skip-bad-images counts it.
	broken := filepath.Join(folder, "train", "green", "img04.png")
	fixture.WriteFile(t, broken, []byte("\x89PNG\r\n\x1a\nbroken"))
	out = filepath.Join(dir, "runbroken")
	code, _, stderr = runSam(t, "train", "--quiet", "--data", "folder:"+folder, "--model", "logistic", "--epochs", "1", "--out", out)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, broken) {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s was created", out)
	}
	_, stderr = trainOK(t, "--data", "folder:"+folder, "--skip-bad-images", "--model", "logistic", "--epochs", "1", "--out", out)
	if !strings.Contains(stderr, "skipped 1 unreadable images") {
		t.Errorf("stderr %q", stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "summary.json")); !strings.Contains(string(b), `"skipped_images": 1`) {
		t.Errorf("summary.json does not count the skipped image: %s", b)
	}
}

// TestImageBadInput: broken CIFAR files and image flags give one line (exit 2) naming the
// problem, and nothing is written.
func TestImageBadInput(t *testing.T) {
	dir := t.TempDir()
	c10 := filepath.Join(dir, "c10")
	fixture.WriteCIFAR10(t, c10, 2, 2)
	trunc := filepath.Join(dir, "trunc")
	fixture.WriteCIFAR10(t, trunc, 2, 2)
	fixture.WriteFile(t, filepath.Join(trunc, "data_batch_4.bin"), make([]byte, 3073+17))
	missing := filepath.Join(dir, "missing")
	fixture.WriteCIFAR10(t, missing, 2, 2)
	os.Remove(filepath.Join(missing, "test_batch.bin"))
	c100 := filepath.Join(dir, "c100")
	fixture.WriteCIFAR100(t, c100, 2, 2)
	fixture.WriteFile(t, filepath.Join(c100, "test.bin"), make([]byte, 3073)) // CIFAR-10's record size
	pics := filepath.Join(dir, "pics")
	fixture.WriteImageFolder(t, pics, []string{"a", "b"}, 2)
	t.Setenv("SAM_CIFAR10_DIR", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"truncated", []string{"--data", "cifar10", "--data-dir", trunc}, filepath.Join(trunc, "data_batch_4.bin")},
		{"missing", []string{"--data", "cifar10", "--data-dir", missing}, filepath.Join(missing, "test_batch.bin")},
		{"record size", []string{"--data", "cifar100", "--data-dir", c100}, filepath.Join(c100, "test.bin")},
		{"no dir", []string{"--data", "cifar10"}, "SAM_CIFAR10_DIR"},
		{"coarse on cifar10", []string{"--data", "cifar10", "--data-dir", c10, "--cifar100-labels", "coarse"}, "--cifar100-labels"},
		{"labels", []string{"--data", "cifar100", "--data-dir", c100, "--cifar100-labels", "medium"}, "--cifar100-labels"},
		{"augment", []string{"--data", "cifar10", "--data-dir", c10, "--augment", "crop,rotate"}, "rotate"},
		{"augment tabular", []string{"--data", "iris", "--augment", "flip"}, "--augment"},
		{"cutout too big", []string{"--data", "cifar10", "--data-dir", c10, "--augment", "cutout", "--cutout", "40"}, "--cutout"},
		{"cutout without", []string{"--data", "cifar10", "--data-dir", c10, "--cutout", "8"}, "--cutout"},
		{"crop pad 0", []string{"--data", "cifar10", "--data-dir", c10, "--augment", "crop", "--crop-pad", "0"}, "--crop-pad"},
		{"image size", []string{"--data", "folder:" + pics, "--image-size", "8x"}, "--image-size"},
		{"image size csv", []string{"--data", "iris", "--image-size", "8"}, "--image-size"},
		{"channels", []string{"--data", "folder:" + pics, "--channels", "2"}, "--channels"},
		{"folder missing", []string{"--data", "folder:" + filepath.Join(dir, "nope")}, "nope"},
		{"wrn depth", []string{"--data", "cifar10", "--data-dir", c10, "--model", "wrn", "--depth", "12"}, "--depth"},
		{"wrn blocks", []string{"--data", "cifar10", "--data-dir", c10, "--model", "wrn", "--blocks", "2"}, "--blocks"},
		{"wrn dropout", []string{"--data", "cifar10", "--data-dir", c10, "--model", "wrn", "--dropout", "1"}, "--dropout"},
		{"resnet depth", []string{"--data", "cifar10", "--data-dir", c10, "--model", "resnet", "--depth", "21"}, "--depth"},
		{"depth mlp", []string{"--data", "cifar10", "--data-dir", c10, "--depth", "16"}, "--depth"},
		{"wrn tabular", []string{"--data", "iris", "--model", "wrn"}, "wrn"},
		{"conv unknown", []string{"--data", "cifar10", "--data-dir", c10, "--model", "wrn", "--conv", "fft"}, "--conv"},
		{"conv mlp", []string{"--data", "iris", "--conv", "winograd"}, "--conv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, stdout, stderr := runSam(t, append([]string{"train", "--quiet", "--out", out, "--epochs", "1"}, tc.args...)...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "sam: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q (want one line naming %q), stdout %q", code, stderr, tc.want, stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory %s was created", out)
			}
		})
	}
}

func TestBenchWRN(t *testing.T) {
	code, stdout, stderr := runSam(t, "bench", "--model", "wrn", "--depth", "10", "--width", "1", "--image", "8x8x3",
		"--batch", "4", "--steps", "1", "--opt", "sgd", "--rho", "0.05")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(stdout), &r); err != nil || r["model"] != "wrn" || r["steps_per_sec"].(float64) <= 0 {
		t.Fatalf("%v: %q", err, stdout)
	}
	code, stdout, stderr = runSam(t, "bench", "--model", "wrn", "--depth", "10", "--width", "2", "--image", "8x8x3", "--batch", "4",
		"--steps", "1", "--opt", "sgd", "--rho", "0.05", "--conv", "winograd")
	if code != 0 || !strings.Contains(stdout, `"conv":"winograd"`) {
		t.Fatalf("--conv winograd: exit %d: %s %s", code, stdout, stderr)
	}
	code, stdout, stderr = runSam(t, "bench", "--model", "wrn", "--depth", "10", "--image", "8x8x3", "--batch", "4", "--steps", "1",
		"--opt", "sgd", "--augment", "crop,flip,cutout", "--cutout", "4")
	if code != 0 || !strings.Contains(stdout, `"augment":"crop,flip,cutout"`) {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runSam(t, "bench", "--model", "mlp", "--input", "8", "--augment", "flip"); code != 2 || !strings.Contains(stderr, "--augment") {
		t.Errorf("augmenting tabular data: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runSam(t, "bench", "--model", "wrn", "--depth", "10", "--image", "8x8x3", "--batch", "4", "--bn-ghost-batch", "2"); code != 2 || !strings.HasPrefix(stderr, "sam: --bn-ghost-batch: sam bench does not time") {
		t.Errorf("--bn-ghost-batch: exit %d, %q", code, stderr)
	}
	for _, bad := range [][]string{{"--image", "32x32"}, {"--image", "32x32x0"}, {"--image", "8x8x3", "--input", "3,8,8"}} {
		if code, _, stderr := runSam(t, append([]string{"bench", "--model", "wrn"}, bad...)...); code != 2 || !strings.Contains(stderr, "--image") {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}
}
