package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam/train"
)

// TestConnect: between an iris MLP and the same network with its hidden units reversed (two
// minima of equal loss) the straight path has a barrier and the trained Bézier curve a much
// lower one; connect.json, connect.csv, connect.png and a loadable curve midpoint are written.
func TestConnect(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0", "tanh")
	m, w, cfg, err := train.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	l := &m.Layout
	w1, _ := l.Lookup("fc1.weight")
	b1, _ := l.Lookup("fc1.bias")
	w2, _ := l.Lookup("fc2.weight")
	h, d, k := w1.Shape[0], w1.Shape[1], w2.Shape[0]
	p := append([]float32(nil), w...)
	for j := range h {
		q := h - 1 - j
		copy(w1.Of(p)[j*d:(j+1)*d], w1.Of(w)[q*d:(q+1)*d])
		b1.Of(p)[j] = b1.Of(w)[q]
		for r := range k {
			w2.Of(p)[r*h+j] = w2.Of(w)[r*h+q]
		}
	}
	perm := filepath.Join(dir, "perm", "model.safetensors")
	os.MkdirAll(filepath.Dir(perm), 0o755)
	if err := train.SaveModel(perm, m, p, cfg, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "connect")
	code, stdout, stderr := runSam(t, "connect", "--quiet", "--model", model, "--model2", perm, "--points", "21",
		"--curve-steps", "600", "--curve-lr", "0.1", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "straight barrier") || !strings.Contains(stdout, "bezier barrier") {
		t.Errorf("table:\n%s", stdout)
	}
	var r ConnectReport
	js, _ := os.ReadFile(filepath.Join(out, "connect.json"))
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("barrier: straight %.4g, Bézier %.4g", r.Straight.Barrier, r.Curve.Barrier)
	if r.Straight.Barrier < 0.1 {
		t.Fatalf("straight barrier %g between permuted minima: a weak test case", r.Straight.Barrier)
	}
	if r.Curve == nil || r.Curve.Barrier > r.Straight.Barrier/2 {
		t.Errorf("Bézier barrier %+v not below half the straight one %g", r.Curve, r.Straight.Barrier)
	}
	if n := len(r.Straight.Loss); n != 21 || r.Straight.Loss[0] != r.Curve.Loss[0] || r.Straight.Loss[20] != r.Curve.Loss[20] {
		t.Errorf("paths' ends differ: %v vs %v", r.Straight.Loss, r.Curve.Loss)
	}
	if rows := readCSVFile(t, filepath.Join(out, "connect.csv")); len(rows) != 1+2*21 {
		t.Errorf("connect.csv has %d rows", len(rows))
	}
	checkPNG(t, filepath.Join(out, "connect.png"))
	if _, _, _, err := train.LoadModel(filepath.Join(out, "curve_midpoint.safetensors")); err != nil {
		t.Errorf("curve midpoint: %v", err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model}, "--model2"},
		{[]string{"--model", model, "--model2", filepath.Join(dir, "none.safetensors")}, "none.safetensors"},
		{[]string{"--model", model, "--model2", perm, "--points", "2"}, "--points"},
		{[]string{"--model", model, "--model2", perm, "--curve-lr", "0"}, "--curve-lr"},
		{[]string{"--model", model, "--model2", perm, "--curve-momentum", "1"}, "--curve-momentum"},
		{[]string{"--model", model, "--model2", perm, "--curve-steps", "-1"}, "--curve-steps"},
	} {
		o := filepath.Join(dir, "bad")
		code, _, stderr := runSam(t, append([]string{"connect", "--quiet", "--out", o}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line naming %s", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(o); !os.IsNotExist(err) {
			t.Errorf("%v: %s was created", tc.args, o)
		}
	}
}
