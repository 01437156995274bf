package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readReport(t *testing.T, path string) SharpnessReport {
	t.Helper()
	var r SharpnessReport
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEigenvectorDirections: --save-eigenvectors writes the top Ritz vectors in the weights'
// names; along the first one the loss's second difference is λ_max (sam landscape --direction
// FILE), which ties the files to the spectrum. Bad direction files exit 2 and write nothing.
func TestEigenvectorDirections(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0", "tanh")
	out := filepath.Join(dir, "eig")
	code, stdout, stderr := runSam(t, "sharpness", "--quiet", "--model", model, "--subset", "60", "--top-k", "2",
		"--tol", "1e-8", "--save-eigenvectors", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	e1, e2 := filepath.Join(out, "eigenvector_1.safetensors"), filepath.Join(out, "eigenvector_2.safetensors")
	if !strings.Contains(stdout, e1) || !strings.Contains(stdout, e2) {
		t.Fatalf("table does not list the eigenvector files:\n%s", stdout)
	}
	r := readReport(t, filepath.Join(out, "sharpness.json"))
	const alpha = 0.05
	land := filepath.Join(dir, "land")
	code, _, stderr = runSam(t, "landscape", "--quiet", "--model", model, "--subset", "60", "--direction", e1,
		"--points", "3", "--range", strconv.FormatFloat(alpha, 'g', -1, 64), "--scale", "linear", "--out", land)
	if code != 0 {
		t.Fatalf("landscape: exit %d: %s", code, stderr)
	}
	rows := readCSVFile(t, filepath.Join(land, "landscape_1d.csv"))
	var l [3]float64
	for i := range 3 {
		l[i], _ = strconv.ParseFloat(rows[i+1][2], 64)
	}
	curv := (l[0] + l[2] - 2*l[1]) / (alpha * alpha)
	t.Logf("second difference along eigenvector 1: %.5g, λ_max %.5g", curv, r.LambdaMax)
	if math.Abs(curv-r.LambdaMax) > 0.05*r.LambdaMax {
		t.Errorf("second difference %.5g along the saved eigenvector, λ_max %.5g", curv, r.LambdaMax)
	}
	code, _, stderr = runSam(t, "landscape", "--quiet", "--model", model, "--subset", "60", "--direction", e1+","+e2,
		"--dims", "2", "--points", "3", "--out", filepath.Join(dir, "land2"))
	if code != 0 {
		t.Fatalf("2-D landscape from files: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "land2", "landscape_2d.png")); err != nil {
		t.Error(err)
	}
	other := filepath.Join(dir, "other")
	if code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", other); code != 0 {
		t.Fatal(stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"one file for 2 dims", []string{"--direction", e1, "--dims", "2"}, "2 safetensors file(s)"},
		{"missing file", []string{"--direction", filepath.Join(dir, "nope.safetensors")}, "nope.safetensors: no such file"},
		{"other architecture", []string{"--direction", filepath.Join(other, "model.safetensors")}, "has shape"},
		{"bn stats with eigen", []string{"--direction", "eigen", "--directions-include-bn-stats"}, "--directions-include-bn-stats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := filepath.Join(dir, "bad-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, _, stderr := runSam(t, append([]string{"landscape", "--quiet", "--model", model, "--out", o}, tc.args...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q: want 2 and one line naming %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(o); !os.IsNotExist(err) {
				t.Errorf("%s was created", o)
			}
		})
	}
}

// TestLandscapeBNStats: on a ResNet, --directions-include-bn-stats changes the loss away from the
// trained weights and not at them.
func TestLandscapeBNStats(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "res")
	if code, _, stderr := runSam(t, "train", "--quiet", "--data", "digits", "--model", "resnet", "--steps", "20", "--out", run); code != 0 {
		t.Fatal(stderr)
	}
	model := filepath.Join(run, "model.safetensors")
	loss := func(out string, extra ...string) []float64 {
		t.Helper()
		code, _, stderr := runSam(t, append([]string{"landscape", "--quiet", "--model", model, "--subset", "100", "--points", "3",
			"--range", "0.5", "--out", filepath.Join(dir, out)}, extra...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var ls []float64
		for _, row := range readCSVFile(t, filepath.Join(dir, out, "landscape_1d.csv"))[1:] {
			v, _ := strconv.ParseFloat(row[2], 64)
			ls = append(ls, v)
		}
		return ls
	}
	a, b := loss("plain"), loss("bn", "--directions-include-bn-stats")
	if a[1] != b[1] {
		t.Errorf("at the trained weights: %g without, %g with the statistics", a[1], b[1])
	}
	if a[0] == b[0] || a[2] == b[2] {
		t.Errorf("moving the statistics changed nothing: %v vs %v", a, b)
	}
}

// TestLandscapePathBN: between two ResNets the straight path of --model2 recomputes the
// BatchNorm statistics at each point, so that it depends on the weights alone: the path from A
// to B is the path from B to A reversed. (With the first model's statistics kept along the
// path, as before, the two differ by a factor of 3 to 4 near the second model.)
func TestLandscapePathBN(t *testing.T) {
	dir := t.TempDir()
	var models []string
	for _, rho := range []string{"0", "0.1"} { // the same data split: one seed
		run := filepath.Join(dir, "res"+rho)
		if code, _, stderr := runSam(t, "train", "--quiet", "--data", "digits", "--model", "resnet", "--steps", "20", "--rho", rho, "--lr", "0.2", "--out", run); code != 0 {
			t.Fatal(stderr)
		}
		models = append(models, filepath.Join(run, "model.safetensors"))
	}
	path := func(a, b string) []float64 {
		t.Helper()
		out := filepath.Join(dir, filepath.Base(filepath.Dir(a)))
		code, _, stderr := runSam(t, "landscape", "--quiet", "--model", a, "--model2", b, "--subset", "100", "--bn-examples", "200",
			"--points", "3", "--path-from", "0", "--path-to", "1", "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var ls []float64
		for _, row := range readCSVFile(t, filepath.Join(out, "path.csv"))[1:] {
			v, _ := strconv.ParseFloat(row[1], 64)
			ls = append(ls, v)
		}
		return ls
	}
	ab, ba := path(models[0], models[1]), path(models[1], models[0])
	if len(ab) != 41 || len(ba) != 41 {
		t.Fatalf("%d and %d path points, want 41", len(ab), len(ba))
	}
	for i := range ab {
		if j := len(ba) - 1 - i; math.Abs(ab[i]-ba[j]) > 1e-4*ab[i] {
			t.Errorf("t = %g: A→B %.6g, B→A %.6g at 1−t", float64(i)/40, ab[i], ba[j])
		}
	}
	code, _, stderr := runSam(t, "landscape", "--quiet", "--model", models[0], "--model2", models[1], "--bn-examples", "0", "--out", filepath.Join(dir, "bad"))
	if code != 2 || !strings.Contains(stderr, "--bn-examples") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("--bn-examples 0: exit %d, stderr %q", code, stderr)
	}
}
