package main

import (
	"encoding/csv"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// trainIris trains a small MLP on iris into dir and returns the checkpoint path.
func trainIris(t *testing.T, dir string, rho string, act ...string) string {
	t.Helper()
	out := filepath.Join(dir, "run-rho"+rho)
	a := "relu"
	if len(act) > 0 {
		a = act[0]
		out += "-" + a
	}
	code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--hidden", "8", "--epochs", "20", "--activation", a,
		"--opt", "sgd", "--lr", "0.1", "--rho", rho, "--out", out)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	return filepath.Join(out, "model.safetensors")
}

// TestMeasureBadInput: bad input to sharpness and landscape exits 2 with one line, writes nothing.
func TestMeasureBadInput(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0")
	corrupt := write(t, dir, "corrupt.safetensors", "\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
	other := filepath.Join(dir, "other")
	code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--hidden", "4", "--epochs", "1", "--out", other)
	if code != 0 {
		t.Fatal(stderr)
	}
	otherModel := filepath.Join(other, "model.safetensors")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"sharpness"}, "--model"},
		{"missing model", []string{"sharpness", "--model", filepath.Join(dir, "nope.safetensors")}, "nope.safetensors"},
		{"model is a directory", []string{"sharpness", "--model", dir}, "directory"},
		{"corrupt model", []string{"sharpness", "--model", corrupt}, "corrupt.safetensors"},
		{"subset 0", []string{"sharpness", "--model", model, "--subset", "0"}, "--subset"},
		{"negative rho", []string{"sharpness", "--model", model, "--rho", "-0.05"}, "--rho"},
		{"rho NaN", []string{"sharpness", "--model", model, "--rho", "NaN"}, "--rho"},
		{"zero eps", []string{"sharpness", "--model", model, "--eps", "0"}, "--eps"},
		{"bad split", []string{"sharpness", "--model", model, "--split", "dev"}, "--split"},
		{"bad hvp", []string{"sharpness", "--model", model, "--hvp", "magic"}, "--hvp"},
		{"negative density probes", []string{"sharpness", "--model", model, "--density-probes", "-1"}, "--density-probes"},
		{"density steps 1", []string{"sharpness", "--model", model, "--density-probes", "2", "--density-steps", "1"}, "--density-steps"},
		{"negative density sigma", []string{"sharpness", "--model", model, "--density-sigma", "-1"}, "--density-sigma"},
		{"top-k 0", []string{"sharpness", "--model", model, "--top-k", "0"}, "--top-k"},
		{"negative m", []string{"sharpness", "--model", model, "--m", "-1"}, "--m"},
		{"negative hvp cache", []string{"sharpness", "--model", model, "--hvp-cache-mb", "-1"}, "--hvp-cache-mb"},
		{"wrong data", []string{"sharpness", "--model", model, "--data", "wine"}, "wine"},
		{"unknown data", []string{"sharpness", "--model", model, "--data", "cifar-1000"}, "cifar-1000"},
		{"bad curvature", []string{"sharpness", "--model", model, "--curvature", "hessian2"}, "--curvature"},
		{"fd ggn", []string{"sharpness", "--model", model, "--curvature", "ggn", "--hvp", "fd"}, "--hvp fd"},
		{"bad trace method", []string{"sharpness", "--model", model, "--trace-method", "hutch+"}, "--trace-method"},
		{"hutch++ 2 products", []string{"sharpness", "--model", model, "--trace-method", "hutch++", "--trace-samples", "2"}, "--trace-samples"},
		{"params no match", []string{"sharpness", "--model", model, "--params", "conv9.*"}, "conv9.*"},
		{"params malformed", []string{"sharpness", "--model", model, "--params", "fc["}, "malformed"},
		{"top-k above block", []string{"sharpness", "--model", model, "--params", "fc2.bias", "--top-k", "4"}, "--top-k"},
		{"bad dims", []string{"landscape", "--model", model, "--dims", "3"}, "--dims"},
		{"dims text", []string{"landscape", "--model", model, "--dims", "two"}, "--dims"},
		{"landscape subset 0", []string{"landscape", "--model", model, "--subset", "0"}, "--subset"},
		{"landscape missing model2", []string{"landscape", "--model", model, "--model2", filepath.Join(dir, "gone.safetensors")}, "gone.safetensors"},
		{"landscape corrupt model2", []string{"landscape", "--model", model, "--model2", corrupt}, "--model2"},
		{"landscape other architecture", []string{"landscape", "--model", model, "--model2", otherModel}, "architecture"},
		{"bad range", []string{"landscape", "--model", model, "--range", "-1"}, "--range"},
		{"bad points", []string{"landscape", "--model", model, "--points", "2"}, "--points"},
		{"bad path", []string{"landscape", "--model", model, "--path-from", "2", "--path-to", "1"}, "--path-from"},
		{"bad scale", []string{"landscape", "--model", model, "--scale", "cubic"}, "--scale"},
		{"bad direction", []string{"landscape", "--model", model, "--direction", "north"}, "--direction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-"))
			code, stdout, stderr := runSam(t, append(tc.args, "--quiet", "--out", out)...)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q stdout %q", code, stderr, stdout)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "sam: ") || !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr %q: want one 'sam: ' line naming %q", stderr, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("output directory %s was created", out)
			}
		})
	}
}

func TestSharpnessCommand(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0")
	out := filepath.Join(dir, "measure")
	code, stdout, stderr := runSam(t, "sharpness", "--quiet", "--model", model, "--subset", "60", "--m", "10",
		"--trace-samples", "50", "--top-k", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, row := range []string{"lambda_max", "top_eigenvalues", "trace", "sam_sharpness", "m_sharpness", "eps_sharpness", "loss", "60 of 105 examples"} {
		if !strings.Contains(stdout, row) {
			t.Errorf("table lacks %q:\n%s", row, stdout)
		}
	}
	js, err := os.ReadFile(filepath.Join(out, "sharpness.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"lambda_max", "top_eigenvalues", "trace", "sam_sharpness", "eps_sharpness", "loss", "m_sharpness"} {
		if _, ok := r[k]; !ok {
			t.Errorf("sharpness.json lacks %s", k)
		}
	}
	lmax := r["lambda_max"].(float64)
	top := r["top_eigenvalues"].([]any)
	if len(top) != 2 || top[0].(float64) != lmax || top[1].(float64) > lmax {
		t.Errorf("top eigenvalues %v, λ_max %g", top, lmax)
	}
	// A quadratic bound ties the measures together: SAM sharpness at radius ρ along the top
	// eigenvector alone is about ρ²λ_max/2, so the ascent (which starts at SAM's ε and only
	// improves) must find at least a good part of it unless the gradient term dominates.
	rho := r["rho"].(float64)
	if s := r["sam_sharpness"].(float64); !(s > 0) || s < 0.25*rho*rho*lmax/2 {
		t.Errorf("SAM sharpness %g, λ_max %g: want ≥ ρ²λ_max/8", s, lmax)
	}
	if r["trace"].(float64) < lmax*0.5 {
		t.Errorf("trace %g below λ_max %g (a trained net's Hessian is nearly PSD)", r["trace"], lmax)
	}
	// The same seed gives the same numbers.
	out2 := filepath.Join(dir, "measure2")
	if code, _, stderr := runSam(t, "sharpness", "--quiet", "--model", model, "--subset", "60", "--m", "10",
		"--trace-samples", "50", "--top-k", "2", "--out", out2, "--hvp", "exact"); code != 0 {
		t.Fatal(stderr)
	}
	js2, _ := os.ReadFile(filepath.Join(out2, "sharpness.json"))
	var r2 map[string]any
	json.Unmarshal(js2, &r2)
	if r2["lambda_max"] != r["lambda_max"] || r2["sam_sharpness"] != r["sam_sharpness"] {
		t.Errorf("not reproducible: %v vs %v", r2["lambda_max"], r["lambda_max"])
	}
	// Finite differences agree with the exact products on a smooth (tanh) network. (On a ReLU
	// network they do not: the step crosses the kinks, see the package documentation.)
	smooth := trainIris(t, dir, "0", "tanh")
	out4 := filepath.Join(dir, "measure4")
	if code, _, stderr := runSam(t, "sharpness", "--quiet", "--model", smooth, "--subset", "60", "--trace-samples", "0",
		"--top-k", "2", "--out", out4, "--hvp", "exact"); code != 0 {
		t.Fatal(stderr)
	}
	js4, _ := os.ReadFile(filepath.Join(out4, "sharpness.json"))
	var r4 map[string]any
	json.Unmarshal(js4, &r4)
	lmax = r4["lambda_max"].(float64)
	out3 := filepath.Join(dir, "measure3")
	if code, _, stderr := runSam(t, "sharpness", "--quiet", "--model", smooth, "--subset", "60", "--trace-samples", "0",
		"--top-k", "2", "--out", out3, "--hvp", "fd"); code != 0 {
		t.Fatal(stderr)
	}
	js3, _ := os.ReadFile(filepath.Join(out3, "sharpness.json"))
	var r3 map[string]any
	json.Unmarshal(js3, &r3)
	if l := r3["lambda_max"].(float64); math.Abs(l/lmax-1) > 0.01 || r3["hvp_method"] != "finite-difference" {
		t.Errorf("finite differences: λ_max %g (%v), exact %g", l, r3["hvp_method"], lmax)
	}
	if _, ok := r3["trace"]; ok {
		t.Error("--trace-samples 0 still wrote a trace")
	}
	if _, err := os.Stat(filepath.Join(out3, "density.csv")); err == nil {
		t.Error("density.csv written without --density-probes")
	}
}

// TestSharpnessDensity: the eigenvalue density's quadrature weights sum to 1, its nodes lie within
// the spectrum Lanczos found, the smoothed curve in density.csv integrates to 1, and the plot is
// written.
func TestSharpnessDensity(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0", "tanh")
	out := filepath.Join(dir, "density")
	code, stdout, stderr := runSam(t, "sharpness", "--quiet", "--model", model, "--subset", "60", "--trace-samples", "0",
		"--top-k", "1", "--hvp", "exact", "--density-probes", "3", "--density-steps", "20", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "density") {
		t.Errorf("table lacks the density row:\n%s", stdout)
	}
	js, _ := os.ReadFile(filepath.Join(out, "sharpness.json"))
	var r SharpnessReport
	if err := json.Unmarshal(js, &r); err != nil || r.Density == nil {
		t.Fatalf("sharpness.json: %v, density %v", err, r.Density)
	}
	d := r.Density
	var sum float64
	for i, wt := range d.Weights {
		sum += wt
		if d.Nodes[i] > r.LambdaMax*(1+1e-3)+1e-6 {
			t.Errorf("node %g above λ_max %g (Ritz values lie inside the spectrum)", d.Nodes[i], r.LambdaMax)
		}
	}
	if math.Abs(sum-1) > 1e-6 || len(d.Nodes) == 0 || len(d.Nodes) > 3*20 {
		t.Errorf("%d nodes, weights sum to %g, want ≤ 60 and 1", len(d.Nodes), sum)
	}
	if slices.Max(d.Nodes) < 0.5*r.LambdaMax {
		t.Errorf("largest node %g, λ_max %g: the density misses the top of the spectrum", slices.Max(d.Nodes), r.LambdaMax)
	}
	rows := readCSVFile(t, filepath.Join(out, "density.csv"))
	if len(rows) != 401 || rows[0][0] != "eigenvalue" {
		t.Fatalf("density.csv: %d rows, header %v", len(rows), rows[0])
	}
	var integral float64
	for i := 2; i < len(rows); i++ {
		x0, _ := strconv.ParseFloat(rows[i-1][0], 64)
		x1, _ := strconv.ParseFloat(rows[i][0], 64)
		y0, _ := strconv.ParseFloat(rows[i-1][1], 64)
		y1, _ := strconv.ParseFloat(rows[i][1], 64)
		integral += (x1 - x0) * (y0 + y1) / 2
	}
	if math.Abs(integral-1) > 0.01 {
		t.Errorf("the smoothed density integrates to %g, want 1", integral)
	}
	checkPNG(t, filepath.Join(out, "density.png"))
}

func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("%s: %v is too small", path, b)
	}
}

func TestLandscapeCommand(t *testing.T) {
	dir := t.TempDir()
	a := trainIris(t, dir, "0")
	b := trainIris(t, dir, "0.05")
	for _, tc := range []struct {
		args  []string
		files map[string]int // file → rows of its CSV (header included), 0 for a PNG
	}{
		{[]string{"--model", a, "--dims", "1", "--points", "11"}, map[string]int{"landscape_1d.csv": 12, "landscape_1d.png": 0}},
		{[]string{"--model", a, "--model2", b, "--dims", "1", "--points", "11"}, map[string]int{"landscape_1d.csv": 23, "landscape_1d.png": 0, "path.csv": 42, "path.png": 0}},
		{[]string{"--model", a, "--dims", "2", "--points", "5", "--scale", "linear"}, map[string]int{"landscape_2d.csv": 26, "landscape_2d.png": 0}},
		{[]string{"--model", a, "--dims", "2", "--points", "5", "--direction", "eigen"}, map[string]int{"landscape_2d.csv": 26, "landscape_2d.png": 0}},
		{[]string{"--model", a, "--model2", b, "--dims", "2", "--points", "5"}, map[string]int{"landscape_2d.csv": 51, "landscape_2d_run-rho0.png": 0, "landscape_2d_run-rho0.05.png": 0, "path.png": 0}},
	} {
		out := t.TempDir()
		code, stdout, stderr := runSam(t, append(append([]string{"landscape"}, tc.args...), "--quiet", "--subset", "50", "--out", out)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		for f, rows := range tc.files {
			p := filepath.Join(out, f)
			if rows == 0 {
				checkPNG(t, p)
				continue
			}
			if got := readCSVFile(t, p); len(got) != rows {
				t.Errorf("%v: %s has %d rows, want %d", tc.args, f, len(got), rows)
			}
		}
		for f := range tc.files {
			if !strings.Contains(stdout, filepath.Join(out, f)) {
				t.Errorf("stdout %q does not list %s", stdout, f)
			}
		}
	}
	// The 1-D curve passes through the model's loss at α = 0 and the path ends at the models.
	out := t.TempDir()
	if code, _, stderr := runSam(t, "landscape", "--quiet", "--model", a, "--model2", b, "--subset", "50", "--points", "5", "--path-from", "0", "--path-to", "1", "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	line := readCSVFile(t, filepath.Join(out, "landscape_1d.csv"))
	path := readCSVFile(t, filepath.Join(out, "path.csv"))
	if line[3][1] != "0" || line[3][2] != path[1][1] || line[8][2] != path[len(path)-1][1] {
		t.Errorf("α = 0 rows %v, %v; path ends %v, %v", line[3], line[8], path[1], path[len(path)-1])
	}
	// Along the unit top eigenvector the loss rises like λ_max·α²/2 near 0.
	out = t.TempDir()
	if code, _, stderr := runSam(t, "landscape", "--quiet", "--model", a, "--subset", "200", "--points", "3", "--range", "0.01",
		"--direction", "eigen", "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runSam(t, "sharpness", "--quiet", "--model", a, "--subset", "200", "--top-k", "1", "--trace-samples", "0", "--out", out); code != 0 {
		t.Fatal(stderr)
	}
	var r map[string]any
	js, _ := os.ReadFile(filepath.Join(out, "sharpness.json"))
	json.Unmarshal(js, &r)
	line = readCSVFile(t, filepath.Join(out, "landscape_1d.csv"))
	f := func(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }
	curv := (f(line[1][2]) + f(line[3][2]) - 2*f(line[2][2])) / (0.01 * 0.01)
	if l := r["lambda_max"].(float64); math.Abs(curv/l-1) > 0.05 {
		t.Errorf("curvature along the eigenvector %g, λ_max %g", curv, l)
	}
}

// TestTrackSharpness: --track-sharpness N logs lambda_max every N epochs, and it agrees with
// `sam sharpness` on the final weights (same examples, same seed).
func TestTrackSharpness(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--hidden", "8", "--epochs", "10",
		"--opt", "sgd", "--lr", "0.1", "--track-sharpness", "5", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var last float64
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		v, ok := m["lambda_max"]
		if want := (i+1)%5 == 0; ok != want {
			t.Errorf("epoch %d: lambda_max present %v, want %v", i+1, ok, want)
		}
		if ok {
			last = v.(float64)
		}
	}
	code, _, stderr = runSam(t, "sharpness", "--quiet", "--model", filepath.Join(out, "model.safetensors"),
		"--subset", "2000", "--top-k", "1", "--trace-samples", "0", "--out", out)
	if code != 0 {
		t.Fatal(stderr)
	}
	js, _ := os.ReadFile(filepath.Join(out, "sharpness.json"))
	var r map[string]any
	json.Unmarshal(js, &r)
	if l := r["lambda_max"].(float64); math.Abs(l/last-1) > 1e-3 {
		t.Errorf("metrics.jsonl λ_max %g, sam sharpness %g", last, l)
	}
	code, _, stderr = runSam(t, "train", "--quiet", "--data", "iris", "--track-sharpness", "-1", "--out", filepath.Join(dir, "bad"))
	if code != 2 || !strings.Contains(stderr, "--track-sharpness") {
		t.Errorf("--track-sharpness -1: exit %d, %q", code, stderr)
	}
}
