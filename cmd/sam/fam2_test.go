package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFamilyBaseRefused: members that need a particular base optimizer refuse the others in one
// line naming the flag, with exit status 2 and nothing written.
func TestFamilyBaseRefused(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"msam without momentum", []string{"--variant", "msam", "--opt", "sgd"}, "--momentum"},
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
