package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam/sharpness"
)

// TestSharpnessByLayer: --by-layer gives one row per tensor (table, JSON, bar chart); --params
// restricts λ_max to a diagonal block, which by interlacing is at most the whole Hessian's and at
// least the largest single tensor's block inside it.
func TestSharpnessByLayer(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0", "tanh")
	measure := func(out string, args ...string) SharpnessReport {
		t.Helper()
		code, stdout, stderr := runSam(t, append([]string{"sharpness", "--quiet", "--model", model, "--subset", "60",
			"--trace-samples", "40", "--top-k", "1", "--tol", "1e-6", "--out", filepath.Join(dir, out)}, args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r SharpnessReport
		js, err := os.ReadFile(filepath.Join(dir, out, "sharpness.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &r); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "layers") {
			for _, name := range []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "lambda_max", "exact"} {
				if !strings.Contains(stdout, name) {
					t.Errorf("table lacks %q:\n%s", name, stdout)
				}
			}
		}
		return r
	}
	all := measure("layers", "--by-layer")
	if len(all.ByLayer) != 4 {
		t.Fatalf("by_layer %+v, want the 4 tensors", all.ByLayer)
	}
	var sum float64
	for _, l := range all.ByLayer {
		if l.LambdaMax > all.LambdaMax*(1+1e-6) {
			t.Errorf("%s: block λ_max %g above the whole Hessian's %g", l.Name, l.LambdaMax, all.LambdaMax)
		}
		sum += l.Trace
	}
	// Every tensor is smaller than 40: the blocks' traces are exact and add up to the whole
	// trace, which Hutchinson and Hutch++ estimate within their errors.
	for _, est := range [][2]*float64{{all.Trace, all.TraceStdErr}, {all.TraceHutchPP, all.TraceHPPStdErr}} {
		if est[0] == nil {
			t.Fatal("a trace estimate is missing")
		}
		if d := math.Abs(sum - *est[0]); d > 4**est[1]+1e-9*sum {
			t.Errorf("blocks' exact traces sum to %g, estimate %g ± %g", sum, *est[0], *est[1])
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "layers", "by_layer.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 500 || img.Bounds().Dy() < 300 {
		t.Errorf("by_layer.png is %v", img.Bounds())
	}
	fc2 := measure("fc2", "--params", "fc2.*")
	if fc2.Parameters != 8*3+3 || len(fc2.Params) != 1 {
		t.Errorf("params %v, %d parameters", fc2.Params, fc2.Parameters)
	}
	var w, bias sharpness.LayerCurvature
	for _, l := range all.ByLayer {
		switch l.Name {
		case "fc2.weight":
			w = l
		case "fc2.bias":
			bias = l
		}
	}
	if lo := max(w.LambdaMax, bias.LambdaMax); fc2.LambdaMax < lo*(1-1e-6) || fc2.LambdaMax > all.LambdaMax*(1+1e-6) {
		t.Errorf("fc2.* block λ_max %g, want within [%g, %g]", fc2.LambdaMax, lo, all.LambdaMax)
	}
	// SAM sharpness perturbing fc2 alone is at most the whole model's (a smaller ball's maximum;
	// the ascent is a lower bound, so allow its slack) and positive.
	if !(fc2.SAMSharpness > 0) || fc2.SAMSharpness > all.SAMSharpness*1.05 {
		t.Errorf("SAM sharpness on fc2.* %g, whole model %g", fc2.SAMSharpness, all.SAMSharpness)
	}
}

// TestSharpnessCurvature: --curvature ggn and fisher measure positive semi-definite matrices
// (λ_max ≥ 0, every block's exact trace ≥ 0) and say so in the table and sharpness.json; the
// GGN's per-tensor traces differ from the Hessian's (another matrix, not a relabelling).
func TestSharpnessCurvature(t *testing.T) {
	dir := t.TempDir()
	model := trainIris(t, dir, "0", "tanh")
	byCurv := map[string]SharpnessReport{}
	for _, c := range []string{"hessian", "ggn", "fisher"} {
		out := filepath.Join(dir, c)
		code, stdout, stderr := runSam(t, "sharpness", "--quiet", "--model", model, "--subset", "60", "--curvature", c,
			"--by-layer", "--trace-samples", "40", "--top-k", "2", "--out", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c, code, stderr)
		}
		if !strings.Contains(stdout, curvatureName(c)) {
			t.Errorf("%s: table does not name the %s:\n%s", c, curvatureName(c), stdout)
		}
		var r SharpnessReport
		js, _ := os.ReadFile(filepath.Join(out, "sharpness.json"))
		if err := json.Unmarshal(js, &r); err != nil {
			t.Fatal(err)
		}
		if r.Curvature != c {
			t.Errorf("curvature %q, want %q", r.Curvature, c)
		}
		byCurv[c] = r
		if c == "hessian" {
			continue
		}
		if r.LambdaMax < 0 || r.TopEigenvalues[1] < -1e-6*r.LambdaMax {
			t.Errorf("%s: eigenvalues %v of a PSD matrix", c, r.TopEigenvalues)
		}
		for _, l := range r.ByLayer {
			if l.TraceExact && l.Trace < 0 {
				t.Errorf("%s: %s block trace %g < 0", c, l.Name, l.Trace)
			}
		}
	}
	h, g := byCurv["hessian"].ByLayer, byCurv["ggn"].ByLayer
	if h[1].Trace == g[1].Trace {
		t.Errorf("GGN and Hessian fc1.bias traces are both %g", h[1].Trace)
	}
}
