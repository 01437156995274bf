package train

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// writeCSV writes a small data set: 4 features, a regression target y and a class label c.
func writeCSV(t *testing.T, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 3))
	var b strings.Builder
	b.WriteString("a,b,c3,d,y,label\n")
	for i := 0; i < n; i++ {
		x := []float64{rng.NormFloat64(), 2 * rng.NormFloat64(), rng.Float64(), rng.NormFloat64() - 1}
		y := 1.5*x[0] - 0.5*x[1] + 2*x[2] + 0.1*rng.NormFloat64()
		lab := 0
		if x[0]+x[3] > -1 {
			lab = 1
		}
		if x[1] > 1.5 {
			lab = 2
		}
		fmt.Fprintf(&b, "%.4f,%.4f,%.4f,%.4f,%.4f,%d\n", x[0], x[1], x[2], x[3], y, lab)
	}
	p := filepath.Join(t.TempDir(), "d.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readCSV is the test's own reader: features (all but y,label), y and label as float64.
func readCSV(t *testing.T, path string) (x [][]float64, y []float64, lab []int) {
	f, _ := os.Open(path)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		var v [6]float64
		fmt.Sscanf(sc.Text(), "%g,%g,%g,%g,%g,%g", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5])
		x = append(x, v[:4])
		y = append(y, v[4])
		lab = append(lab, int(v[5]))
	}
	return
}

// refSAM is an independent float64 implementation of ../shared/reference/SAM.md for full-batch
// linear (MSE) or softmax regression with zero initialisation and SGD. Parameters: W (k×d) then b (k).
func refSAM(x [][]float64, y []float64, lab []int, k int, logistic bool, steps int, lr, mom, rho, p float64, adaptive bool, l2 float64) []float64 {
	n, d := len(x), len(x[0])
	np := k*d + k
	w := make([]float64, np)
	grad := func(w []float64) []float64 {
		g := make([]float64, np)
		for i := 0; i < n; i++ {
			z := make([]float64, k)
			for c := 0; c < k; c++ {
				z[c] = w[k*d+c]
				for j := 0; j < d; j++ {
					z[c] += w[c*d+j] * x[i][j]
				}
			}
			dz := make([]float64, k)
			if logistic {
				m := math.Inf(-1)
				for _, v := range z {
					m = math.Max(m, v)
				}
				var s float64
				for _, v := range z {
					s += math.Exp(v - m)
				}
				for c := range z {
					dz[c] = math.Exp(z[c]-m) / s / float64(n)
				}
				dz[lab[i]] -= 1 / float64(n)
			} else {
				dz[0] = 2 * (z[0] - y[i]) / float64(n)
			}
			for c := 0; c < k; c++ {
				for j := 0; j < d; j++ {
					g[c*d+j] += dz[c] * x[i][j]
				}
				g[k*d+c] += dz[c]
			}
		}
		return g
	}
	v := make([]float64, np)
	for s := 0; s < steps; s++ {
		g := grad(w)
		gs := g
		if rho > 0 {
			T := make([]float64, np)
			for i := range T {
				T[i] = 1
				if adaptive && i < k*d {
					T[i] = math.Abs(w[i]) + 0.01
				}
			}
			eps := make([]float64, np)
			if math.IsInf(p, 1) {
				for i := range eps {
					if z := T[i] * g[i]; z != 0 {
						eps[i] = rho * T[i] * math.Copysign(1, z)
					}
				}
			} else {
				q := p / (p - 1)
				var sum float64
				for i := range g {
					sum += math.Pow(math.Abs(T[i]*g[i]), q)
				}
				den := math.Pow(sum, 1/p)
				if p == 2 {
					den += 1e-12
				}
				for i := range eps {
					z := T[i] * g[i]
					eps[i] = rho * T[i] * math.Copysign(math.Pow(math.Abs(z), q-1), z) / den
				}
			}
			wp := make([]float64, np)
			for i := range wp {
				wp[i] = w[i] + eps[i]
			}
			gs = grad(wp)
		}
		for i := 0; i < k*d; i++ {
			gs[i] += l2 * w[i]
		}
		for i := range w {
			if mom > 0 {
				if s == 0 {
					v[i] = gs[i]
				} else {
					v[i] = mom*v[i] + gs[i]
				}
				w[i] -= lr * v[i]
			} else {
				w[i] -= lr * gs[i]
			}
		}
	}
	return w
}

// TestFullBatchMatchesReference runs the training pipeline on a CSV with full batches and zero
// init and compares the weights with the independent float64 implementation above.
func TestFullBatchMatchesReference(t *testing.T) {
	path := writeCSV(t, 60)
	x, y, lab := readCSV(t, path)
	for _, tc := range []struct {
		name     string
		model    string
		rho, p   float64
		adaptive bool
		l2, mom  float64
	}{
		{"linear sgd", "linear", 0, 2, false, 0, 0},
		{"linear sam", "linear", 0.05, 2, false, 0, 0},
		{"linear sam l2 momentum", "linear", 0.1, 2, false, 0.01, 0.9},
		{"linear sam p=inf", "linear", 0.02, math.Inf(1), false, 0, 0},
		{"linear sam p=3", "linear", 0.05, 3, false, 0, 0.5},
		{"linear asam", "linear", 0.5, 2, true, 0.001, 0},
		{"logistic sam", "logistic", 0.05, 2, false, 0, 0},
		{"logistic asam momentum", "logistic", 1, 2, true, 0.01, 0.9},
		{"logistic p=1.5", "logistic", 0.1, 1.5, false, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Data: "csv:" + path, Task: "regression", Target: "y", Init: "zeros",
				Model: nn.Spec{Model: tc.model, Loss: "mse"}, Optimizer: optim.Config{Name: "sgd", Momentum: tc.mom},
				SAM: sam.Config{Rho: tc.rho, P: tc.p, Adaptive: tc.adaptive, L2: tc.l2}, LR: 0.05,
				Schedule: optim.Schedule{Kind: "constant"}, Steps: 40}
			k := 1
			if tc.model == "logistic" {
				c.Task, c.Target, c.Model.Loss, k = "classification", "label", "ce", 3
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			d, err := Prepare(c)
			if err != nil {
				t.Fatal(err)
			}
			if d.Train.N() != 60 {
				t.Fatalf("%d training rows, want all 60", d.Train.N())
			}
			// The pipeline must see the file's features: y and label are not features.
			if d.Train.Dim() != 5 {
				t.Fatalf("dim %d", d.Train.Dim())
			}
			res, err := Run(c, d, "", "", Observer{})
			if err != nil {
				t.Fatal(err)
			}
			// The CSV target excluded, the other label/target column stays a feature: give the
			// reference the same five features in the file's order.
			xr := make([][]float64, len(x))
			for i := range x {
				if tc.model == "logistic" {
					xr[i] = append(append([]float64(nil), x[i]...), y[i])
				} else {
					xr[i] = append(append([]float64(nil), x[i]...), float64(lab[i]))
				}
			}
			want := refSAM(xr, y, lab, k, tc.model == "logistic", 40, 0.05, tc.mom, tc.rho, tc.p, tc.adaptive, tc.l2)
			got := res.Weights
			var num, den float64
			for i := range want {
				num += (float64(got[i]) - want[i]) * (float64(got[i]) - want[i])
				den += want[i] * want[i]
			}
			if rel := math.Sqrt(num / den); rel > 1e-5 || math.IsNaN(rel) {
				t.Fatalf("relative difference %.3g (got %v, want %v)", rel, got[:4], want[:4])
			}
		})
	}
}

func trainDigits(t *testing.T, threads int, mutate func(c *Config)) *Result {
	t.Helper()
	return trainDigitsObserved(t, threads, mutate, Observer{})
}

func trainDigitsObserved(t *testing.T, threads int, mutate func(c *Config), obs Observer) *Result {
	t.Helper()
	c := &Config{Data: "digits", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{32}, Activation: "relu", Loss: "ce", Dropout: 0.1},
		Optimizer: optim.Config{Name: "sgd", Momentum: 0.9}, SAM: sam.Config{Rho: 0.05, M: 16},
		LR: 0.05, Schedule: optim.Schedule{Kind: "cosine"}, BatchSize: 64, Epochs: 2, Seed: 3,
		ValFraction: 0.1, TestFraction: 0.2, Standardize: true}
	if mutate != nil {
		mutate(c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	prev := tensor.SetThreads(threads)
	defer tensor.SetThreads(prev)
	res, err := Run(c, d, "", "", obs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestDeterministicAcrossThreads: same config and seed give bit-identical weights on 1, 2 or 5
// threads: with dropout, and without it, where m-sharpness's chunks run on forks of the model
// side by side (their first passes' correct predictions counted into the training accuracy).
func TestDeterministicAcrossThreads(t *testing.T) {
	for name, mutate := range map[string]func(c *Config){"dropout": nil, "forks": func(c *Config) { c.Model.Dropout = 0 }} {
		t.Run(name, func(t *testing.T) {
			var accA, accB []float64 // the epochs' training accuracy, counted in the first passes
			a := trainDigitsObserved(t, 1, mutate, Observer{Epoch: func(m Metrics) { accA = append(accA, *m.TrainAcc) }})
			for _, th := range []int{2, 5} {
				accB = nil
				b := trainDigitsObserved(t, th, mutate, Observer{Epoch: func(m Metrics) { accB = append(accB, *m.TrainAcc) }})
				if !slices.Equal(accA, accB) || len(accA) != 2 {
					t.Fatalf("threads=%d: training accuracy by epoch %v, on one thread %v", th, accB, accA)
				}
				for i := range a.Weights {
					if math.Float32bits(a.Weights[i]) != math.Float32bits(b.Weights[i]) {
						t.Fatalf("threads=%d: weight %d differs: %g vs %g", th, i, a.Weights[i], b.Weights[i])
					}
				}
			}
			if *a.Summary.TestAcc < 0.6 { // a sanity check: chance is 0.1
				t.Fatalf("digits MLP test accuracy %.3f after 2 epochs", *a.Summary.TestAcc)
			}
		})
	}
}

// TestOutputs: metrics.jsonl has a line per epoch with the documented fields, summary.json the
// final metrics, and model.safetensors loads back into the same weights.
func TestOutputs(t *testing.T) {
	out := t.TempDir()
	c := &Config{Data: "iris", Task: "classification", Init: "default",
		Model: nn.Spec{Model: "logistic", Loss: "ce"}, Optimizer: optim.Config{Name: "adam"},
		SAM: sam.Config{Rho: 0.05}, LR: 0.05, Schedule: optim.Schedule{Kind: "constant"},
		BatchSize: 16, Epochs: 3, Seed: 1, ValFraction: 0.2, TestFraction: 0.2, Standardize: true}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	save := filepath.Join(t.TempDir(), "copy.safetensors")
	res, err := Run(c, d, out, save, Observer{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d metrics lines, want 3", len(lines))
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"epoch", "step", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"} {
			if _, ok := m[key]; !ok {
				t.Fatalf("line %d lacks %s: %s", i, key, l)
			}
		}
		if m["epoch"].(float64) != float64(i+1) || m["step"].(float64) != float64(6*(i+1)) {
			t.Fatalf("line %d: %s", i, l)
		}
	}
	var s map[string]any
	b, _ = os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"config", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "wall_seconds"} {
		if _, ok := s[key]; !ok {
			t.Fatalf("summary lacks %s", key)
		}
	}
	for _, p := range []string{filepath.Join(out, "model.safetensors"), save} {
		m, w, cfg, err := LoadModel(p)
		if err != nil {
			t.Fatal(err)
		}
		if cfg == nil || cfg.Data != "iris" || m.Spec.Outputs != 3 {
			t.Fatalf("config %+v, spec %+v", cfg, m.Spec)
		}
		for i := range w {
			if w[i] != res.Weights[i] {
				t.Fatalf("%s: weight %d differs", p, i)
			}
		}
	}
}

// TestDivergenceKeepsLastGoodWeights: a learning rate that blows up stops the run with
// ErrDiverged, and the saved weights are finite.
func TestDivergenceKeepsLastGoodWeights(t *testing.T) {
	path := writeCSV(t, 40)
	out := t.TempDir()
	c := &Config{Data: "csv:" + path, Task: "regression", Target: "y", Init: "zeros",
		Model: nn.Spec{Model: "linear", Loss: "mse"}, Optimizer: optim.Config{Name: "sgd"},
		LR: 50, Schedule: optim.Schedule{Kind: "constant"}, Steps: 500}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(c, d, out, "", Observer{})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
	_, w, _, err := LoadModel(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("saved weight %g", v)
		}
	}
	var s Summary
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	json.Unmarshal(b, &s)
	if !strings.Contains(s.Stopped, "diverged") {
		t.Fatalf("summary.stopped = %q", s.Stopped)
	}
}

// TestTrainSize: --train-size keeps a seeded subset of the pool before the splits.
func TestTrainSize(t *testing.T) {
	c := &Config{Data: "digits", Task: "classification", Init: "default", Model: nn.Spec{Model: "logistic", Loss: "ce"},
		Optimizer: optim.Config{Name: "sgd"}, LR: 0.1, Schedule: optim.Schedule{Kind: "constant"}, Epochs: 1, Seed: 4,
		ValFraction: 0.1, TestFraction: 0.2, TrainSize: 500}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Train.N() + d.Val.N() + d.Test.N(); n != 500 || d.Val.N() != 50 || d.Test.N() != 100 {
		t.Fatalf("train %d, val %d, test %d; want 350, 50, 100", d.Train.N(), d.Val.N(), d.Test.N())
	}
	d2, _ := Prepare(c)
	for i := range d.Train.X {
		if d.Train.X[i] != d2.Train.X[i] {
			t.Fatal("the subset is not deterministic")
		}
	}
	c.TrainSize = 5000
	if _, err := Prepare(c); err == nil || !strings.Contains(err.Error(), "--train-size") {
		t.Fatalf("err = %v", err)
	}
}

// TestVariantsTrain runs every SAM variant through the training loop (ESAM's data selection
// included, with its per-example view of each mini-batch) and checks that it learns digits.
func TestVariantsTrain(t *testing.T) {
	for name, s := range map[string]sam.Config{
		"usam":       {Rho: 0.05, Variant: "usam"},
		"gsam":       {Rho: 0.05, Variant: "gsam", Params: map[string]float64{"gsam-alpha": 0.1}},
		"looksam":    {Rho: 0.05, Variant: "looksam", Params: map[string]float64{"looksam-k": 5, "looksam-alpha": 0.7}},
		"esam":       {Rho: 0.05, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 0.5}, Seed: 3},
		"esam γ=0.1": {Rho: 0.05, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 0.1}, Seed: 3},
		"samon":      {Rho: 0.05, Variant: "samon"},
	} {
		t.Run(name, func(t *testing.T) {
			res := trainDigits(t, 0, func(c *Config) { c.SAM = s; c.Epochs = 3 })
			if acc := *res.Summary.TestAcc; acc < 0.75 { // chance is 0.1
				t.Fatalf("test accuracy %.3f", acc)
			}
		})
	}
}
