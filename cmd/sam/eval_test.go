package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvalMatchesSummary: sam eval on the run's own test split reports the loss and accuracy
// (MSE for regression) that sam train reported, a confusion matrix whose rows count the test
// labels and whose diagonal is the correct predictions, and writes eval.json and a
// confusion.png that decodes, with the dark diagonal of a good classifier.
func TestEvalMatchesSummary(t *testing.T) {
	dir := t.TempDir()
	path := writeTabular(t, dir, 300)
	out := filepath.Join(dir, "run")
	if code, _, e := runSam(t, "train", "--data", "csv:"+path, "--target", "y", "--model", "mlp", "--hidden", "16",
		"--epochs", "30", "--lr", "0.01", "--out", out, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	var sum struct {
		TestLoss float64 `json:"test_loss"`
		TestAcc  float64 `json:"test_acc"`
		TestN    int     `json:"test_examples"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &sum); err != nil || sum.TestN == 0 {
		t.Fatalf("summary.json: %v", err)
	}
	code, o, e := runSam(t, "eval", "--model", filepath.Join(out, "model.safetensors"))
	if code != 0 {
		t.Fatal(e)
	}
	if !strings.Contains(o, fmt.Sprintf("accuracy %.2f%%", 100*sum.TestAcc)) || !strings.Contains(o, "confusion matrix") {
		t.Fatalf("stdout:\n%s", o)
	}
	var ev EvalReport
	b, err := os.ReadFile(filepath.Join(out, "eval.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Examples != sum.TestN || ev.Loss != sum.TestLoss || *ev.Accuracy != sum.TestAcc || len(ev.Classes) != 3 {
		t.Fatalf("eval %+v, summary %+v", ev, sum)
	}
	total, diag := 0, 0
	for i, row := range ev.Confusion {
		for j, v := range row {
			total += v
			if i == j {
				diag += v
			}
		}
	}
	if total != sum.TestN || float64(diag)/float64(total) != sum.TestAcc {
		t.Fatalf("confusion %v", ev.Confusion)
	}
	p := filepath.Join(out, "confusion.png")
	checkPNG(t, p)
	f, _ := os.Open(p)
	img, _ := png.Decode(f)
	f.Close()
	// The plot's cells: the diagonal ones (a high share of their row) are darker than the
	// off-diagonal ones; sample the data area's 3×3 grid at cell centres.
	bright := func(pt image.Point) int {
		r, g, b, _ := img.At(pt.X, pt.Y).RGBA()
		return int(r>>8 + g>>8 + b>>8)
	}
	lo, hi := findDataArea(img)
	cell := func(i, j int) image.Point {
		w, h := (hi.X-lo.X)/3, (hi.Y-lo.Y)/3
		return image.Pt(lo.X+w*j+w/5, lo.Y+h*i+h/5) // off the centred count
	}
	for i := range 3 {
		for j := range 3 {
			if i != j && ev.Confusion[i][j]*4 < ev.Confusion[i][i] && bright(cell(i, i)) >= bright(cell(i, j)) {
				t.Fatalf("cell (%d,%d) is not darker than (%d,%d)", i, i, i, j)
			}
		}
	}

	// Regression: MSE equals the reported test loss; R² is high on a nearly linear target.
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	sb.WriteString("a,b,t\n")
	for range 200 {
		a, c := rng.NormFloat64(), rng.NormFloat64()
		fmt.Fprintf(&sb, "%.5f,%.5f,%.5f\n", a, c, 2*a-c+0.05*rng.NormFloat64())
	}
	rp := write(t, dir, "reg.csv", sb.String())
	rout := filepath.Join(dir, "reg")
	if code, _, e := runSam(t, "train", "--data", "csv:"+rp, "--model", "linear", "--batch-size", "full", "--steps", "300",
		"--opt", "sgd", "--lr", "0.1", "--rho", "0", "--out", rout, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	b, _ = os.ReadFile(filepath.Join(rout, "summary.json"))
	var rs struct {
		L float64 `json:"test_loss"`
	}
	json.Unmarshal(b, &rs)
	code, o, e = runSam(t, "eval", "--model", filepath.Join(rout, "model.safetensors"), "--format", "json")
	if code != 0 {
		t.Fatal(e)
	}
	var re EvalReport
	if err := json.Unmarshal([]byte(o), &re); err != nil {
		t.Fatal(err)
	}
	if re.MSE == nil || re.R2 == nil || re.Accuracy != nil || re.Confusion != nil || *re.R2 < 0.99 ||
		abs(*re.MSE-rs.L) > 1e-6*rs.L || re.Loss != rs.L {
		t.Fatalf("regression eval %s (summary loss %v)", o, rs.L)
	}
	if _, err := os.Stat(filepath.Join(rout, "confusion.png")); err == nil {
		t.Fatal("confusion.png for a regression model")
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// findDataArea finds the bounding box of the non-white pixels away from the image's edges
// that belong to the heat map: the largest run of coloured (non-grey) pixels.
func findDataArea(img image.Image) (lo, hi image.Point) {
	b := img.Bounds()
	lo, hi = b.Max, b.Min
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if bl > r+0x1000 && bl > g { // bluish: a heat-map cell
				lo.X, lo.Y = min(lo.X, x), min(lo.Y, y)
				hi.X, hi.Y = max(hi.X, x), max(hi.Y, y)
			}
		}
	}
	return lo, hi
}
