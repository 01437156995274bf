package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// num parses the number of a `"key": value` match.
func num(t *testing.T, kv string) float64 {
	t.Helper()
	_, v, _ := strings.Cut(kv, ": ")
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestSAFTrain: `sam train --variant saf` and `--variant mesa` on digits: λ = 0 is plain SGD (the
// same test loss to the last digit), the trajectory term (SAF: E = 1 from the second epoch;
// MESA: from the second epoch) changes the run and it still learns; a one-point sweep takes the flags; bad settings are refused in one line.
func TestSAFTrain(t *testing.T) {
	dir := t.TempDir()
	testLoss := func(name string, args ...string) (string, string) {
		t.Helper()
		out := filepath.Join(dir, name)
		a := append([]string{"train", "--quiet", "--data", "digits", "--epochs", "3", "--seed", "1", "--out", out}, args...)
		if code, stdout, stderr := runSam(t, a...); code != 0 {
			t.Fatalf("train: exit %d\n%s%s", code, stdout, stderr)
		}
		js, err := os.ReadFile(filepath.Join(out, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		loss := regexp.MustCompile(`"test_loss": [0-9.e-]+`).FindString(string(js))
		acc := regexp.MustCompile(`"test_acc": [0-9.e-]+`).FindString(string(js))
		if loss == "" || acc == "" {
			t.Fatalf("summary.json lacks test_loss/test_acc:\n%s", js)
		}
		return loss, acc
	}
	base, _ := testLoss("base", "--rho", "0")
	zero, _ := testLoss("zero", "--variant", "saf", "--saf-lambda", "0")
	if zero != base {
		t.Fatalf("saf λ = 0: %s, SGD %s", zero, base)
	}
	on, acc := testLoss("on", "--variant", "saf", "--saf-epochs", "1", "--saf-start", "0", "--saf-lambda", "0.5")
	if on == base {
		t.Fatalf("saf with the term: %s, the same as SGD", on)
	}
	if mz, _ := testLoss("mesa-zero", "--variant", "mesa", "--mesa-lambda", "0"); mz != base {
		t.Fatalf("mesa λ = 0: %s, SGD %s", mz, base)
	}
	if mo, macc := testLoss("mesa-on", "--variant", "mesa", "--mesa-start", "0", "--mesa-decay", "0.99"); mo == base || num(t, macc) < 0.9 {
		t.Fatalf("mesa with the term: %s (SGD %s), %s", mo, base, macc)
	}
	// gradient accumulation splits the batch, and the term, into micro-batches: the same run
	// up to round-off
	acc2, _ := testLoss("accum", "--variant", "saf", "--saf-epochs", "1", "--saf-start", "0", "--saf-lambda", "0.5", "--accum", "2")
	if x, y := num(t, on), num(t, acc2); math.Abs(x-y) > 1e-4*x {
		t.Fatalf("saf with --accum 2: %s, without %s", acc2, on)
	}
	if a := strings.TrimPrefix(acc, `"test_acc": `); a < "0.9" {
		t.Fatalf("saf test accuracy %s, want ≥ 0.9", a)
	}
	for _, args := range [][]string{{"--variant", "saf", "--saf-epochs", "1", "--saf-start", "0"}, {"--variant", "mesa", "--mesa-start", "0"}} {
		a := append([]string{"sweep", "--quiet", "--data", "iris", "--hidden", "8", "--epochs", "1", "--folds", "2",
			"--out", filepath.Join(dir, "sweep-"+args[1])}, args...)
		if code, stdout, stderr := runSam(t, a...); code != 0 {
			t.Fatalf("sweep %v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}

	// sam bench steps SAF with its term (one batch, seen again every step)
	if code, stdout, stderr := runSam(t, "bench", "--model", "mlp", "--input", "8", "--hidden", "16", "--batch", "8", "--steps", "20",
		"--variant", "saf", "--saf-epochs", "1", "--saf-start", "0"); code != 0 || !strings.Contains(stdout, `"variant":"saf"`) {
		t.Fatalf("bench: exit %d\n%s%s", code, stdout, stderr)
	}

	good := write(t, dir, "good.csv", "a,b,y\n1,2,0.5\n3,4,1.5\n5,6,0\n7,8,1\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"tau 0", []string{"--data", "iris", "--variant", "saf", "--saf-tau", "0"}, "--saf-tau"},
		{"epochs 0", []string{"--data", "iris", "--variant", "saf", "--saf-epochs", "0"}, "--saf-epochs"},
		{"ascent steps", []string{"--data", "iris", "--variant", "saf", "--ascent-steps", "2"}, "--ascent-steps"},
		{"regression", []string{"--data", "csv:" + good, "--task", "regression", "--variant", "saf"}, "--loss"},
		{"mesa regression", []string{"--data", "csv:" + good, "--task", "regression", "--variant", "mesa"}, "--loss"},
		{"mesa decay 2", []string{"--data", "iris", "--variant", "mesa", "--mesa-decay", "2"}, "--mesa-decay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, stdout, stderr := runSam(t, append([]string{"train", "--quiet", "--out", out, "--epochs", "1"}, tc.args...)...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q (want one line naming %s), stdout %q", code, stderr, tc.want, stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory %s was created", out)
			}
		})
	}
}
