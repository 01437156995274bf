package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam"
)

func runSam(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadInput: every malformed input exits 2 with one line naming the problem, no panic trace,
// and writes nothing.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
	ragged := write(t, dir, "ragged.csv", "a,b,y\n1,2,0\n3,4\n")
	text := write(t, dir, "text.csv", "a,b,y\n1,x,0\n3,4,1\n")
	nan := write(t, dir, "nan.csv", "a,b,y\n1,NaN,0\n3,4,1\n")
	inf := write(t, dir, "inf.csv", "a,b,y\n1,2,0\n3,Inf,1\n")
	norows := write(t, dir, "norows.csv", "a,b,y\n")
	badlab := write(t, dir, "badlab.csv", "a,b,y\n1,2,0\n3,4,-1\n")
	idx := filepath.Join(dir, "idx")
	os.Mkdir(idx, 0o755)
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		write(t, idx, f, "\x1f\x8b\x08\x00garbage")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // a fragment the message must contain
	}{
		{"missing csv", []string{"--data", "csv:" + filepath.Join(dir, "nope.csv")}, "nope.csv"},
		{"ragged", []string{"--data", "csv:" + ragged}, "ragged.csv"},
		{"non-numeric", []string{"--data", "csv:" + text}, "text.csv"},
		{"nan", []string{"--data", "csv:" + nan}, "nan.csv"},
		{"inf", []string{"--data", "csv:" + inf}, "inf.csv"},
		{"no rows", []string{"--data", "csv:" + norows}, "norows.csv"},
		{"unknown target", []string{"--data", "csv:" + good, "--target", "zz"}, "zz"},
		{"label out of range", []string{"--data", "csv:" + badlab}, "badlab.csv"},
		{"corrupt idx", []string{"--data", "mnist", "--data-dir", idx}, "idx"},
		{"negative rho", []string{"--data", "csv:" + good, "--rho", "-0.1"}, "--rho"},
		{"p <= 1", []string{"--data", "csv:" + good, "--p", "1"}, "--p"},
		{"p text", []string{"--data", "csv:" + good, "--p", "two"}, "--p"},
		{"lr 0", []string{"--data", "csv:" + good, "--lr", "0"}, "--lr"},
		{"batch 0", []string{"--data", "csv:" + good, "--batch-size", "0"}, "--batch-size"},
		{"val fraction 1", []string{"--data", "csv:" + good, "--val-fraction", "1"}, "--val-fraction"},
		{"negative fraction", []string{"--data", "csv:" + good, "--test-fraction", "-0.1"}, "--test-fraction"},
		{"fractions sum", []string{"--data", "csv:" + good, "--val-fraction", "0.5", "--test-fraction", "0.5"}, "fraction"},
		{"unknown model", []string{"--data", "csv:" + good, "--model", "transformer"}, "--model"},
		{"unknown data", []string{"--data", "cifar-1000"}, "cifar-1000"},
		{"bad hidden", []string{"--data", "csv:" + good, "--hidden", "256,x"}, "--hidden"},
		{"bad flag value", []string{"--data", "csv:" + good, "--epochs", "many"}, "--epochs"},
		{"unknown flag", []string{"--data", "csv:" + good, "--rh0", "1"}, "rh0"},
		{"bad opt", []string{"--data", "csv:" + good, "--opt", "lbfgs"}, "--opt"},
		{"bad schedule", []string{"--data", "csv:" + good, "--schedule", "linear"}, "--schedule"},
		{"label noise 2", []string{"--data", "csv:" + good, "--label-noise", "2"}, "--label-noise"},
		{"train size negative", []string{"--data", "csv:" + good, "--train-size", "-1"}, "--train-size"},
		{"train size too big", []string{"--data", "csv:" + good, "--train-size", "5"}, "--train-size"},
		{"esam gamma 0", []string{"--data", "csv:" + good, "--variant", "esam", "--esam-gamma", "0"}, "--esam-gamma"},
		{"esam gamma 2", []string{"--data", "csv:" + good, "--variant", "esam", "--esam-gamma", "2"}, "--esam-gamma"},
		{"esam beta tiny", []string{"--data", "csv:" + good, "--variant", "esam", "--esam-beta", "1e-9"}, "--esam-beta"},
		{"esam gamma without esam", []string{"--data", "csv:" + good, "--esam-gamma", "0.5"}, "--esam-gamma"},
		{"esam multi-step", []string{"--data", "csv:" + good, "--variant", "esam", "--ascent-steps", "2"}, "--ascent-steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			// --epochs 1 comes first so that a test's own value wins (pflag keeps the last).
			code, stdout, stderr := runSam(t, append([]string{"train", "--quiet", "--out", out, "--epochs", "1"}, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q stdout %q", code, stderr, stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "sam: ") {
				t.Fatalf("stderr is not one 'sam: ' line: %q", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("message %q does not name %q", stderr, tc.want)
			}
			if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
				t.Fatalf("panic trace: %q", stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory %s was created", out)
			}
		})
	}
}

// TestTrainCSV trains end to end on a CSV and checks the three outputs and the --save copy.
func TestTrainCSV(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x1,x2,y\n")
	for i := 0; i < 50; i++ {
		x1, x2 := float64(i%7)-3, float64(i%5)-2
		fmt.Fprintf(&b, "%g,%g,%g\n", x1, x2, 2*x1-x2+1)
	}
	csv := write(t, dir, "lin.csv", b.String())
	out := filepath.Join(dir, "run")
	save := filepath.Join(dir, "w.safetensors")
	code, stdout, stderr := runSam(t, "train", "--data", "csv:"+csv, "--target", "y", "--model", "linear",
		"--init", "zeros", "--batch-size", "full", "--steps", "300", "--val-fraction", "0", "--test-fraction", "0",
		"--standardize=false", "--opt", "sgd", "--lr", "0.05", "--rho", "0.01", "--out", out, "--save", save)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "train loss") {
		t.Fatalf("stdout %q", stdout)
	}
	for _, f := range []string{"metrics.jsonl", "summary.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(save); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	js, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	json.Unmarshal(js, &s)
	if _, ok := s["train_acc"]; ok {
		t.Fatal("regression summary has an accuracy")
	}
	if l := s["train_loss"].(float64); l > 0.05 {
		t.Fatalf("train loss %g on an exactly linear target", l)
	}
}

func TestHelpExplainsFlags(t *testing.T) {
	code, stdout, _ := runSam(t, "train", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"--data", "--target", "--model", "--hidden", "--opt", "--rho", "--p", "--adaptive", "--eta",
		"--m ", "--lr", "--momentum", "--nesterov", "--l2", "--weight-decay", "--batch-size", "--epochs", "--steps",
		"--seed", "--init", "--label-noise", "--val-fraction", "--test-fraction", "--standardize", "--schedule",
		"--warmup", "--clip", "--label-smoothing", "--out", "--save"} {
		if !strings.Contains(stdout, f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
}

func TestDivergenceExitsOne(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "%d,%d\n", i, 3*i)
	}
	csv := write(t, dir, "d.csv", b.String())
	out := filepath.Join(dir, "run")
	code, _, stderr := runSam(t, "train", "--quiet", "--data", "csv:"+csv, "--model", "linear", "--standardize=false", "--opt", "sgd",
		"--batch-size", "full", "--steps", "1000", "--lr", "10", "--out", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, stderr)
	}
	if !strings.Contains(stderr, "diverged") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr %q", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		t.Fatal("last good weights not saved")
	}
}

func TestBench(t *testing.T) {
	for _, rho := range []string{"0", "0.05"} {
		code, stdout, stderr := runSam(t, "bench", "--model", "mlp", "--hidden", "16", "--input", "8", "--classes", "3",
			"--batch", "8", "--steps", "3", "--opt", "sgd", "--rho", rho)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("not one JSON line: %q", stdout)
		}
		for _, k := range []string{"model", "batch", "opt", "rho", "threads", "steps_per_sec", "examples_per_sec", "gflops"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("no %s in %s", k, stdout)
			}
		}
		if r["steps_per_sec"].(float64) <= 0 || r["batch"].(float64) != 8 || r["model"] != "mlp" {
			t.Fatalf("bad result %s", stdout)
		}
	}
	if code, _, stderr := runSam(t, "bench", "--batch", "0"); code != 2 || !strings.Contains(stderr, "--batch") {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	// m-sharpness: the forks that run its chunks side by side, one per further thread; none on
	// one thread or with dropout (the model's random draws).
	for _, c := range []struct {
		args  []string
		forks float64
	}{{[]string{"--threads", "3"}, 2}, {[]string{"--threads", "1"}, 0}, {[]string{"--threads", "3", "--dropout", "0.1"}, 0}} {
		args := append([]string{"bench", "--model", "mlp", "--hidden", "16", "--input", "8", "--classes", "3", "--batch", "8",
			"--steps", "3", "--opt", "sgd", "--rho", "0.05", "--m", "2"}, c.args...)
		code, stdout, stderr := runSam(t, args...)
		var r map[string]any
		if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil {
			t.Fatalf("%v: exit %d: %s %s", c.args, code, stdout, stderr)
		}
		if got, _ := r["forks"].(float64); got != c.forks {
			t.Fatalf("%v: forks %v, want %v: %s", c.args, r["forks"], c.forks, stdout)
		}
	}
}

// TestBenchFLOPs: sam bench's FLOP count of a step (an MLP 8-16-3 has 8·16 + 16·3 = 176
// multiply-adds per example: 2 FLOPs each, × 3 per pass, × the member's passes), the achieved
// rate that follows from it, and --roofline's GEMM rate and fraction.
func TestBenchFLOPs(t *testing.T) {
	for _, tc := range []struct {
		flags    []string
		passes   float64
		roofline bool
	}{
		{[]string{"--rho", "0"}, 1, true},
		{[]string{"--rho", "0.05"}, 2, false},
		{[]string{"--rho", "0.05", "--ascent-steps", "3"}, 4, false},
		{[]string{"--rho", "0.05", "--variant", "lookbehind", "--lookbehind-k", "3"}, 4, false},
		{[]string{"--rho", "0.05", "--variant", "looksam", "--looksam-k", "4"}, 1.25, false},
		{[]string{"--rho", "0.05", "--variant", "gsam"}, 2, true},
	} {
		args := append([]string{"bench", "--model", "mlp", "--hidden", "16", "--input", "8", "--classes", "3",
			"--batch", "8", "--steps", "3", "--opt", "sgd", "--threads", "1"}, tc.flags...)
		if tc.roofline {
			args = append(args, "--roofline")
		}
		code, stdout, stderr := runSam(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.flags, code, stderr)
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
			t.Fatalf("%v: not one JSON line: %q", tc.flags, stdout)
		}
		r := map[string]float64{}
		for k, v := range raw {
			if f, ok := v.(float64); ok {
				r[k] = f
			}
		}
		if r["passes"] != tc.passes {
			t.Errorf("%v: passes %v, want %v", tc.flags, r["passes"], tc.passes)
		}
		if want := tc.passes * 3 * 2 * 176 * 8 / 1e9; math.Abs(r["step_gflop"]-want) > 1e-12*want {
			t.Errorf("%v: step_gflop %v, want %v", tc.flags, r["step_gflop"], want)
		}
		if got, want := r["gflops"], r["step_gflop"]*r["steps_per_sec"]; math.Abs(got-want) > 1e-9*want {
			t.Errorf("%v: gflops %v, want step_gflop × steps_per_sec = %v", tc.flags, got, want)
		}
		_, hasGemm := raw["gemm_gflops"]
		_, hasFrac := raw["roofline_frac"]
		if hasGemm != tc.roofline || hasFrac != tc.roofline {
			t.Fatalf("%v: gemm_gflops/roofline_frac present %v/%v with --roofline %v: %s", tc.flags, hasGemm, hasFrac, tc.roofline, stdout)
		}
		if tc.roofline {
			if r["gemm_gflops"] <= 0 {
				t.Errorf("%v: gemm_gflops %v", tc.flags, r["gemm_gflops"])
			}
			if got, want := r["roofline_frac"], r["gflops"]/r["gemm_gflops"]; math.Abs(got-want) > 1e-9*want {
				t.Errorf("%v: roofline_frac %v, want gflops ÷ gemm_gflops = %v", tc.flags, got, want)
			}
		}
	}
}

// TestPInfinityOutputs: p = ∞ (which JSON cannot hold as a number) is written and read back.
func TestPInfinityOutputs(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--p", "inf", "--epochs", "1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil || !strings.Contains(string(b), `"p": "inf"`) {
		t.Fatalf("summary.json: %v %s", err, b)
	}
	code, _, stderr = runSam(t, "sharpness", "--model", filepath.Join(out, "model.safetensors"), "--subset", "50", "--out", out)
	if code != 0 {
		t.Fatalf("sharpness on a p = inf checkpoint: exit %d: %s", code, stderr)
	}
}

// TestBenchPassesEveryMember: sam bench counts the FLOPs of every registered member (a new
// member whose pass count it cannot read would make it panic), and ρ = 0 is the base step's
// single pass except for the members that work at ρ = 0.
func TestBenchPassesEveryMember(t *testing.T) {
	for _, m := range sam.Members() {
		var p float64
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %v", m.Name, r)
				}
			}()
			p = benchPasses(sam.Config{Variant: m.Name, Rho: 0.05})
		}()
		if p < 1 || p > 10 {
			t.Errorf("%s (passes %q): counted %v passes", m.Name, m.Passes, p)
		}
		if q := benchPasses(sam.Config{Variant: m.Name}); !m.RhoFree && q != 1 {
			t.Errorf("%s at ρ = 0: counted %v passes, want 1", m.Name, q)
		}
	}
}
