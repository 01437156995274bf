package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoFlatness runs the demo end to end and checks its files and printed numbers.
func TestDemoFlatness(t *testing.T) {
	out := filepath.Join(t.TempDir(), "flat")
	code, stdout, stderr := runSam(t, "demo", "flatness", "--out", out, "--starts", "40")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"sharp: mean", "flat:  mean", "end in the flat basin", "outputs in"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"report.md", "summary.json", "empirical.png", "sam_objective.png", "trajectories.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var s struct {
		Sharp struct{ Std float64 } `json:"sharp"`
		Flat  struct{ Std float64 } `json:"flat"`
		GD    float64               `json:"gd_flat_fraction"`
		SAM   float64               `json:"sam_flat_fraction"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if !(s.Sharp.Std > s.Flat.Std && s.SAM > s.GD) {
		t.Errorf("summary: %+v", s)
	}
}

// TestDemoList: `sam demo` names its demos.
func TestDemoList(t *testing.T) {
	code, stdout, stderr := runSam(t, "demo")
	if code != 0 || !strings.Contains(stdout, "flatness") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDemoBadInput: every bad flag exits 2 with one line naming it, and writes nothing.
func TestDemoBadInput(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "file", "x")
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{}, "--out"},
		{"negative samples", []string{"--samples", "-3"}, "--samples"},
		{"zero samples", []string{"--samples", "0"}, "--samples"},
		{"draws 0", []string{"--draws", "0"}, "--draws"},
		{"draws text", []string{"--draws", "ten"}, "--draws"},
		{"negative rho", []string{"--rho", "-1"}, "--rho"},
		{"starts 0", []string{"--starts", "0"}, "--starts"},
		{"negative seed", []string{"--seed", "-1"}, "--seed"},
		{"out is a file", []string{"--out", file}, "--out"},
		{"out under a file", []string{"--out", filepath.Join(file, "sub")}, "--out"},
		{"unknown flag", []string{"--sample", "3"}, "sample"},
		{"extra argument", []string{"now"}, "now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			args := []string{"demo", "flatness"}
			if tc.name != "no out" {
				args = append(args, "--out", out)
			}
			code, stdout, stderr := runSam(t, append(args, tc.args...)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one line mentioning %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			if _, err := os.Stat(filepath.Join(out, "summary.json")); err == nil {
				t.Error("wrote output despite the error")
			}
		})
	}
	if os.Geteuid() != 0 { // root writes anywhere
		code, _, stderr := runSam(t, "demo", "flatness", "--out", filepath.Join(ro, "x"))
		if code != 2 || !strings.Contains(stderr, "--out") {
			t.Errorf("unwritable --out: exit %d, stderr %q", code, stderr)
		}
	}
}
