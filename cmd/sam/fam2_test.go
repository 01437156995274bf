package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFamilyRefused: bad settings of the members added in issue 15 part 2, and base optimizers
// that they cannot work with, are refused in one line naming the flag, with exit status 2 and
// nothing written.
func TestFamilyRefused(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"msam without momentum", []string{"--variant", "msam", "--opt", "sgd"}, "--momentum"},
		{"rwp lambda 2", []string{"--variant", "rwp", "--rwp-lambda", "2"}, "--rwp-lambda"},
		{"rwp adaptive", []string{"--variant", "rwp", "--adaptive"}, "--adaptive"},
		{"lookbehind k 0", []string{"--variant", "lookbehind", "--lookbehind-k", "0"}, "--lookbehind-k"},
		{"lookbehind alpha 0", []string{"--variant", "lookbehind", "--lookbehind-alpha", "0"}, "--lookbehind-alpha"},
		{"lookbehind ascent steps", []string{"--variant", "lookbehind", "--ascent-steps", "2"}, "--ascent-steps"},
		{"bsam around adam", []string{"--variant", "bsam"}, "--opt"},
		{"bsam with momentum", []string{"--variant", "bsam", "--opt", "sgd", "--momentum", "0.9"}, "--momentum"},
		{"bsam with l2", []string{"--variant", "bsam", "--opt", "sgd", "--l2", "0.001"}, "--l2"},
		{"bsam n 0", []string{"--variant", "bsam", "--opt", "sgd", "--bsam-n", "0"}, "--bsam-n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, stdout, stderr := runSam(t, append([]string{"train", "--quiet", "--out", out, "--epochs", "1", "--data", "csv:" + good}, tc.args...)...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q (want one line naming %s), stdout %q", code, stderr, tc.want, stdout)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory %s was created", out)
			}
		})
	}
}

// TestFamilyTrainAndSweep: each member of issue 15 part 2 trains from `sam train` and from a
// one-point `sam sweep` with its own flags, and its settings are recorded in the run's config.
func TestFamilyTrainAndSweep(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		key  string // a setting the summary must record
	}{
		{"msam", []string{"--variant", "msam", "--rho", "0.05"}, `"variant": "msam"`},
		{"rwp", []string{"--variant", "rwp", "--rho", "0.01", "--rwp-lambda", "0.4"}, `"rwp_lambda": 0.4`},
		{"lookbehind", []string{"--variant", "lookbehind", "--rho", "0.05", "--lookbehind-k", "3", "--lookbehind-adaptive", "1"}, `"lookbehind_k": 3`},
		{"bsam", []string{"--variant", "bsam", "--opt", "sgd", "--lr", "0.02", "--rho", "0.01", "--bsam-n", "120"}, `"bsam_n": 120`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "train-"+tc.name)
			args := append([]string{"train", "--quiet", "--data", "iris", "--hidden", "8", "--epochs", "2", "--out", out}, tc.args...)
			if code, stdout, stderr := runSam(t, args...); code != 0 {
				t.Fatalf("train: exit %d\n%s%s", code, stdout, stderr)
			}
			js, err := os.ReadFile(filepath.Join(out, "summary.json"))
			if err != nil || !strings.Contains(string(js), tc.key) {
				t.Fatalf("summary.json lacks %s (%v):\n%s", tc.key, err, js)
			}
			sweep := append([]string{"sweep", "--quiet", "--data", "iris", "--hidden", "8", "--epochs", "1", "--folds", "2",
				"--out", filepath.Join(dir, "sweep-"+tc.name)}, tc.args...)
			if code, stdout, stderr := runSam(t, sweep...); code != 0 {
				t.Fatalf("sweep: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}
