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
