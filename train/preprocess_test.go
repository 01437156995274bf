package train

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/safetensors"
)

func csvRun(t *testing.T, path string) (*Config, *Result, string) {
	t.Helper()
	out := t.TempDir()
	c := &Config{Data: "csv:" + path, Task: "classification", Target: "label", Standardize: true,
		ValFraction: 0.2, TestFraction: 0.25, Seed: 3,
		Model: nn.Spec{Model: "mlp", Hidden: []int{8}, Loss: "ce"}, Optimizer: optim.Config{Name: "adam"},
		LR: 0.01, Schedule: optim.Schedule{Kind: "constant"}, BatchSize: 16, Steps: 30}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(c, d, out, "", Observer{})
	if err != nil {
		t.Fatal(err)
	}
	return c, res, filepath.Join(out, "model.safetensors")
}

// TestCheckpointCarriesPreprocessing: the checkpoint stores the training split's per-feature
// mean and 1/std, the columns, target, task and class names; evaluating it on its own data
// through the stored preprocessing reproduces the reported test loss and accuracy bit for bit.
func TestCheckpointCarriesPreprocessing(t *testing.T) {
	path := writeCSV(t, 120)
	c, res, model := csvRun(t, path)
	ck, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	p := ck.Pre
	if p == nil {
		t.Fatal("no preprocessing in the checkpoint")
	}
	if !reflect.DeepEqual(p.Columns, []string{"a", "b", "c3", "d", "y"}) || p.Target != "label" ||
		p.Task != "classification" || !reflect.DeepEqual(p.ClassNames, []string{"0", "1", "2"}) ||
		!reflect.DeepEqual(p.Input, []int{5}) || p.Image {
		t.Fatalf("preprocessing %+v", p)
	}
	// The statistics are the raw training split's mean and standard deviation.
	c2 := *c
	c2.Standardize = false
	raw, err := Prepare(&c2)
	if err != nil {
		t.Fatal(err)
	}
	n, dim := raw.Train.N(), 5
	for j := range dim {
		var m, v float64
		for i := range n {
			m += float64(raw.Train.X[i*dim+j])
		}
		m /= float64(n)
		for i := range n {
			e := float64(raw.Train.X[i*dim+j]) - m
			v += e * e
		}
		sd := math.Sqrt(v / float64(n))
		if math.Abs(float64(p.Standardize.Mean[j])-m) > 1e-5*(1+math.Abs(m)) || math.Abs(float64(p.Standardize.InvStd[j])*sd-1) > 1e-5 {
			t.Fatalf("feature %d: mean %g inv_std %g, want %g and 1/%g", j, p.Standardize.Mean[j], p.Standardize.InvStd[j], m, sd)
		}
	}
	d, err := ck.Data(DataOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, a := evaluate(ck.Model, ck.Weights, d.Test, 64)
	if *l != *res.Summary.TestLoss || *a != *res.Summary.TestAcc {
		t.Fatalf("test loss %v acc %v, training reported %v %v", *l, *a, *res.Summary.TestLoss, *res.Summary.TestAcc)
	}
}

// TestOldCheckpointRecomputesPreprocessing: a checkpoint without preprocessing (as written
// before it was stored) loads, and its preprocessing is recomputed from the run config with a
// warning, equal to what a new checkpoint stores.
func TestOldCheckpointRecomputesPreprocessing(t *testing.T) {
	path := writeCSV(t, 60)
	c, res, model := csvRun(t, path)
	ck, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "old.safetensors")
	if err := SaveModel(old, res.Model, res.Weights, c, nil); err != nil {
		t.Fatal(err)
	}
	ock, err := Load(old)
	if err != nil {
		t.Fatal(err)
	}
	if ock.Pre != nil {
		t.Fatal("old checkpoint has preprocessing")
	}
	var warned string
	p, err := ock.Preprocessing(func(s string) { warned = s })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warned, "without its preprocessing") {
		t.Fatalf("warning %q", warned)
	}
	if !reflect.DeepEqual(p, ck.Pre) {
		t.Fatalf("recomputed %+v\nstored %+v", p, ck.Pre)
	}
	// Without the config as well, nothing can be recomputed: one line.
	bare := filepath.Join(t.TempDir(), "bare.safetensors")
	if err := SaveModel(bare, res.Model, res.Weights, nil, nil); err != nil {
		t.Fatal(err)
	}
	bck, err := Load(bare)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bck.Preprocessing(nil); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Fatalf("err = %v", err)
	}
}

// TestDataOtherCSVByColumnName: another CSV with the columns shuffled and an extra one gets the
// same features as the training file; a missing column is named.
func TestDataOtherCSVByColumnName(t *testing.T) {
	path := writeCSV(t, 60)
	_, _, model := csvRun(t, path)
	ck, err := Load(model)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var sh, miss strings.Builder
	for i, l := range lines { // a,b,c3,d,y,label -> label,extra,y,d,b,a,c3
		f := strings.Split(l, ",")
		extra := "7"
		if i == 0 {
			extra = "extra"
		}
		sh.WriteString(strings.Join([]string{f[5], extra, f[4], f[3], f[1], f[0], f[2]}, ",") + "\n")
		miss.WriteString(strings.Join([]string{f[0], f[1], f[3], f[4], f[5]}, ",") + "\n")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "sh.csv"), []byte(sh.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "miss.csv"), []byte(miss.String()), 0o644)
	own, err := ck.Data(DataOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ck.Data(DataOptions{Data: "csv:" + filepath.Join(dir, "sh.csv")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(own.Test.X, other.Test.X) || !reflect.DeepEqual(own.Test.Labels, other.Test.Labels) {
		t.Fatal("shuffled columns give other features")
	}
	_, err = ck.Data(DataOptions{Data: "csv:" + filepath.Join(dir, "miss.csv")}, nil)
	if err == nil || !strings.Contains(err.Error(), `no column "c3"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestHostileSpecIsNotAllocated: a header whose spec claims layers far larger than the file's
// tensors is an error before anything of that size is allocated.
func TestHostileSpecIsNotAllocated(t *testing.T) {
	for _, spec := range []nn.Spec{
		{Model: "mlp", Input: []int{4}, Outputs: 3, Hidden: []int{1 << 40}, Loss: "ce"},
		{Model: "resnet", Input: []int{1, 8, 8}, Outputs: 3, Width: 1 << 30, Loss: "ce"},
		{Model: "mlp", Input: []int{1 << 20}, Outputs: 3, Hidden: []int{1 << 20}, Loss: "ce"},
		{Model: "resnet", Input: []int{1, 1 << 16, 1 << 16}, Outputs: 3, Loss: "ce"}, // weights do not grow with the image
	} {
		js, _ := json.Marshal(spec)
		var buf strings.Builder
		err := safetensors.Encode(&buf, []safetensors.Tensor{{Name: "fc1.weight", Shape: []int{2, 2}, Data: make([]float32, 4)}},
			map[string]string{metaSpec: string(js)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeCheckpoint([]byte(buf.String())); err == nil {
			t.Fatalf("%+v: no error", spec)
		}
	}
}

// TestHugeImageSpecIsRefused: a ResNet's weights do not depend on the image size, so a real
// ResNet checkpoint whose spec claims 60000×60000 images has matching tensors; it is refused
// for the input size, before any forward pass could allocate for it.
func TestHugeImageSpecIsRefused(t *testing.T) {
	m, err := nn.Build(nn.Spec{Model: "resnet", Input: []int{1, 4, 4}, Outputs: 3, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	p := filepath.Join(t.TempDir(), "r.safetensors")
	if err := SaveModel(p, m, w, nil, nil); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := safetensors.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	spec := m.Spec
	spec.Input = []int{1, 60000, 60000}
	js, _ := json.Marshal(spec)
	meta[metaSpec] = string(js)
	var buf strings.Builder
	if err := safetensors.Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	_, err = DecodeCheckpoint([]byte(buf.String()))
	if err == nil || !strings.Contains(err.Error(), "input shape") {
		t.Fatalf("err = %v", err)
	}
}

// TestClassNamesOnce: a model file keeps the class names once, in the preprocessing, and the
// loaded config has them; a file without preprocessing (SaveModel with pre nil, as files were
// written before it was stored) keeps them under classes, which loads too.
func TestClassNamesOnce(t *testing.T) {
	c := &Config{Data: "iris", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "logistic", Loss: "ce"},
		Optimizer: optim.Config{Name: "sgd"}, LR: 0.1, Schedule: optim.Schedule{Kind: "constant"},
		BatchSize: 16, Steps: 2, Seed: 1, ValFraction: 0.1, TestFraction: 0.2}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ClassNames) != 3 {
		t.Fatalf("iris class names %v", c.ClassNames)
	}
	out := t.TempDir()
	res, err := Run(c, d, out, "", Observer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		pre      *Preprocess
		classes  bool
		preNames bool
	}{{"new", NewPreprocess(c, d), false, true}, {"without preprocessing", nil, true, false}} {
		path := filepath.Join(out, "m.safetensors")
		if err := SaveModel(path, res.Model, res.Weights, c, tc.pre); err != nil {
			t.Fatal(err)
		}
		_, meta, err := safetensors.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, has := meta[MetaClasses]
		if has != tc.classes || strings.Contains(meta[metaPreprocess], "class_names") != tc.preNames {
			t.Errorf("%s: classes entry %v, preprocessing with class_names %v", tc.name, has, strings.Contains(meta[metaPreprocess], "class_names"))
		}
		ck, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ck.Config.ClassNames, c.ClassNames) {
			t.Errorf("%s: loaded class names %v, want %v", tc.name, ck.Config.ClassNames, c.ClassNames)
		}
	}
}
