package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainDistFlags: the data-parallel and accumulation flags refuse bad values and
// combinations in one line with exit status 2 and nothing written; a good --accum run records
// its settings in summary.json.
func TestTrainDistFlags(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ args, want string }{
		{"--dist-eps global", "--dist-eps: applies to data-parallel runs only"},
		{"--dist-eps everywhere", "--dist-eps: want local or global"},
		{"--accum -1", "--accum: must be ≥ 1"},
		{"--accum 3 --batch-size 32", "--accum: the per-rank batch 32"},
		{"--accum-eps local", "--accum-eps: applies with --accum K only"},
		{"--bn-ghost-batch 8", "--bn-ghost-batch: --model mlp has no BatchNorm"},
		{"--bn-ghost-batch -2 --model resnet", "--bn-ghost-batch: must be ≥ 0"},
		{"--bn-ghost-batch 5 --model resnet", "--bn-ghost-batch: 5 does not divide the per-rank micro-batch of 32"},
		{"--bn-ghost-batch 16 --accum 4 --model resnet", "--bn-ghost-batch: 16 does not divide the per-rank micro-batch of 8"},
		{"--accum 4 --accum-eps local --m 8", "--accum-eps local: sets --m"},
		{"--accum 4 --accum-eps local --variant gsam", "--accum-eps local: is m-sharpness"},
	} {
		out := filepath.Join(dir, "bad")
		code, _, stderr := runSam(t, append(strings.Fields("train --data digits --epochs 1 --quiet --out "+out), strings.Fields(tc.args)...)...)
		if code != 2 || !strings.HasPrefix(stderr, "sam: "+tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q; want 2 and one line starting %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", tc.args, out)
		}
	}
	out := filepath.Join(dir, "accum")
	if code, _, stderr := runSam(t, strings.Fields("train --data digits --hidden 16 --epochs 1 --batch-size 64 --accum 4 --quiet --out "+out)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Config map[string]any `json:"config"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Config["accum"] != 4.0 || s.Config["accum_eps"] != "global" || s.Config["ranks"] != nil {
		t.Fatalf("summary config: accum %v, accum_eps %v, ranks %v", s.Config["accum"], s.Config["accum_eps"], s.Config["ranks"])
	}
}
