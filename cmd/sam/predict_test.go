package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/samgo/sam/train"
)

// writeTabular writes a 3-class CSV of n rows with columns f1,f2,f3,noise,y (target y).
func writeTabular(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 4))
	var b strings.Builder
	b.WriteString("f1,f2,f3,noise,y\n")
	for range n {
		x := []float64{rng.NormFloat64(), rng.NormFloat64() * 3, rng.Float64() * 10, rng.NormFloat64()}
		y := 0
		if x[0]+x[1]/3 > 0.3 {
			y = 1
		}
		if x[2] > 7 {
			y = 2
		}
		fmt.Fprintf(&b, "%.5f,%.5f,%.5f,%.5f,%d\n", x[0], x[1], x[2], x[3], y)
	}
	return write(t, dir, "train.csv", b.String())
}

// TestPredictReproducesTestAccuracy: sam predict on the training CSV's own rows (columns
// shuffled, an extra column) gives, on the rows of the test split, exactly the test accuracy
// that sam train reported; on all rows, the accuracy that sam eval --split all reports.
func TestPredictReproducesTestAccuracy(t *testing.T) {
	dir := t.TempDir()
	path := writeTabular(t, dir, 300)
	out := filepath.Join(dir, "run")
	if code, _, e := runSam(t, "train", "--data", "csv:"+path, "--target", "y", "--model", "mlp", "--hidden", "16",
		"--epochs", "30", "--lr", "0.01", "--val-fraction", "0.15", "--test-fraction", "0.25", "--seed", "5", "--out", out, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	var sum struct {
		TestAcc float64 `json:"test_acc"`
		TestN   int     `json:"test_examples"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "summary.json"))
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	// The same rows with the columns in another order and one column more.
	recs := readCSVFile(t, path)
	var sh strings.Builder
	for i, r := range recs {
		extra := "1"
		if i == 0 {
			extra = "comment"
		}
		sh.WriteString(strings.Join([]string{r[3], r[4], extra, r[2], r[0], r[1]}, ",") + "\n")
	}
	input := write(t, dir, "shuffled.csv", sh.String())
	preds := filepath.Join(dir, "preds.csv")
	model := filepath.Join(out, "model.safetensors")
	code, _, e := runSam(t, "predict", "--model", model, "--input", input, "--output", preds)
	if code != 0 {
		t.Fatal(e)
	}
	pr := readCSVFile(t, preds)
	if len(pr) != len(recs) || strings.Join(pr[0][:4], ",") != "id,y,class,name" {
		t.Fatalf("%d prediction lines, header %v", len(pr), pr[0])
	}
	// The test rows: the raw test split of the run, found in the file by their features.
	ck, err := train.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	c := *ck.Config
	c.Standardize = false
	c.Model.Input, c.Model.Outputs = nil, 0
	d, err := train.Prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	row := map[string]int{}
	for i, r := range recs[1:] {
		row[strings.Join(r[:4], ",")] = i + 1
	}
	te := d.Test
	correct := 0
	for i := range te.N() {
		var key []string
		for _, v := range te.X[i*4 : (i+1)*4] {
			key = append(key, strconv.FormatFloat(float64(v), 'f', 5, 32))
		}
		r, ok := row[strings.Join(key, ",")]
		if !ok {
			t.Fatalf("test row %v not in the file", key)
		}
		if pr[r][1] != recs[r][4] {
			t.Fatalf("row %d: label %s, file %s", r, pr[r][1], recs[r][4])
		}
		if pr[r][2] == pr[r][1] {
			correct++
		}
	}
	if te.N() != sum.TestN || float64(correct)/float64(te.N()) != sum.TestAcc {
		t.Fatalf("predict: %d of %d test rows correct, training reported %v of %d", correct, te.N(), sum.TestAcc, sum.TestN)
	}
	t.Logf("test accuracy %d/%d = %.4f, as reported", correct, te.N(), sum.TestAcc)
	if sum.TestAcc < 0.7 {
		t.Fatalf("test accuracy %v: the model did not learn", sum.TestAcc)
	}
	// All rows: predict's stderr accuracy equals eval --split all.
	code, o, _ := runSam(t, "eval", "--model", model, "--split", "all", "--format", "json", "--out", dir)
	if code != 0 {
		t.Fatal(o)
	}
	var ev EvalReport
	if err := json.Unmarshal([]byte(o), &ev); err != nil {
		t.Fatal(err)
	}
	all := 0
	for _, r := range pr[1:] {
		if r[1] == r[2] {
			all++
		}
	}
	if ev.Examples != len(pr)-1 || float64(all)/float64(ev.Examples) != *ev.Accuracy {
		t.Fatalf("predict %d/%d correct, eval %v of %d", all, len(pr)-1, *ev.Accuracy, ev.Examples)
	}
	_, _, e = runSam(t, "predict", "--model", model, "--input", input)
	if !strings.Contains(e, fmt.Sprintf("accuracy %.2f%%", 100*float64(all)/float64(ev.Examples))) {
		t.Fatalf("stderr %q", e)
	}
}

// writeIDX writes an IDX file of unsigned bytes with the given dimensions.
func writeIDX(t *testing.T, path string, dims []int, b []byte) {
	t.Helper()
	h := []byte{0, 0, 8, byte(len(dims))}
	for _, d := range dims {
		h = binary.BigEndian.AppendUint32(h, uint32(d))
	}
	if err := os.WriteFile(path, append(h, b...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeMNIST writes a small mnist-like data set of 12×12 images (class c: a bright bar at row
// c, plus noise) into dir and returns the test images and labels.
func fakeMNIST(t *testing.T, dir string, ntrain, ntest int) ([][]byte, []byte) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	gen := func(n int) ([]byte, []byte) {
		px, lab := make([]byte, n*144), make([]byte, n)
		for i := range n {
			c := rng.IntN(10)
			lab[i] = byte(c)
			for p := range 144 {
				v := rng.IntN(60)
				if p/12 == c+1 && p%12 > 1 && p%12 < 10 {
					v += 150 + rng.IntN(40)
				}
				px[i*144+p] = byte(v)
			}
		}
		return px, lab
	}
	px, lab := gen(ntrain)
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte"), []int{ntrain, 12, 12}, px)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte"), []int{ntrain}, lab)
	tpx, tlab := gen(ntest)
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), []int{ntest, 12, 12}, tpx)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), []int{ntest}, tlab)
	imgs := make([][]byte, ntest)
	for i := range imgs {
		imgs[i] = tpx[i*144 : (i+1)*144]
	}
	return imgs, tlab
}

// TestPredictImages: the test images of an image data set, written as PNG files, get from
// sam predict (a directory, and one file) exactly the logits that the model gives the test
// split in evaluation mode.
func TestPredictImages(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "idx")
	os.Mkdir(idx, 0o755)
	imgs, _ := fakeMNIST(t, idx, 300, 20)
	out := filepath.Join(dir, "run")
	if code, _, e := runSam(t, "train", "--data", "mnist", "--data-dir", idx, "--model", "mlp", "--hidden", "16",
		"--epochs", "2", "--out", out, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	pngs := filepath.Join(dir, "png")
	os.Mkdir(pngs, 0o755)
	for i, px := range imgs {
		g := image.NewGray(image.Rect(0, 0, 12, 12))
		copy(g.Pix, px)
		f, err := os.Create(filepath.Join(pngs, fmt.Sprintf("img%03d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, g); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	model := filepath.Join(out, "model.safetensors")
	code, o, e := runSam(t, "predict", "--model", model, "--input", pngs, "--logits", "--format", "json")
	if code != 0 {
		t.Fatal(e)
	}
	var preds []predJSON
	if err := json.Unmarshal([]byte(o), &preds); err != nil {
		t.Fatal(err)
	}
	ck, err := train.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ck.Data(train.DataOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := train.Logits(ck.Model, ck.Weights, d.Test.X, d.Test.N(), 7)
	if len(preds) != len(imgs) {
		t.Fatalf("%d predictions for %d images", len(preds), len(imgs))
	}
	for i, p := range preds {
		if !strings.HasSuffix(p.ID, fmt.Sprintf("img%03d.png", i)) || p.Name != ck.Pre.ClassNames[*p.Class] {
			t.Fatalf("prediction %d: %+v", i, p)
		}
		for j, v := range p.Logits {
			if v != want[i*10+j] {
				t.Fatalf("image %d logit %d: %v, the test split gives %v", i, j, v, want[i*10+j])
			}
		}
	}
	// One file, and a colour image of the same grey levels, give the same.
	rgb := image.NewRGBA(image.Rect(0, 0, 12, 12))
	for p, v := range imgs[3] {
		rgb.Set(p%12, p/12, color.RGBA{v, v, v, 255})
	}
	f, _ := os.Create(filepath.Join(dir, "rgb.png"))
	png.Encode(f, rgb)
	f.Close()
	// A JPEG (lossy: a prediction, not the same logits).
	jf, _ := os.Create(filepath.Join(dir, "x.jpg"))
	jpeg.Encode(jf, rgb, &jpeg.Options{Quality: 95})
	jf.Close()
	if code, o, e := runSam(t, "predict", "--model", model, "--input", filepath.Join(dir, "x.jpg")); code != 0 || strings.Count(o, "\n") != 2 {
		t.Fatalf("jpeg: exit %d, %q %q", code, o, e)
	}
	for _, in := range []string{filepath.Join(pngs, "img003.png"), filepath.Join(dir, "rgb.png")} {
		code, o, e = runSam(t, "predict", "--model", model, "--input", in, "--logits")
		if code != 0 {
			t.Fatal(e)
		}
		lines := strings.Split(strings.TrimSpace(o), "\n")
		cells := strings.Split(lines[1], ",")
		if got, _ := strconv.ParseFloat(cells[len(cells)-10], 32); float32(got) != want[30] {
			t.Fatalf("%s: logit 0 %v, want %v", in, got, want[30])
		}
	}
}

// TestPredictBadInput: every input a user can get wrong is one line, exit status 2, no output
// file.
func TestPredictBadInput(t *testing.T) {
	dir := t.TempDir()
	path := writeTabular(t, dir, 60)
	out := filepath.Join(dir, "run")
	if code, _, e := runSam(t, "train", "--data", "csv:"+path, "--target", "y", "--model", "mlp", "--hidden", "4",
		"--epochs", "1", "--out", out, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	model := filepath.Join(out, "model.safetensors")
	missing := write(t, dir, "missing.csv", "f1,f3,noise\n1,2,3\n")
	text := write(t, dir, "text.csv", "f1,f2,f3,noise\n1,2,x,3\n")
	empty := write(t, dir, "empty.csv", "f1,f2,f3,noise\n")
	ragged := write(t, dir, "ragged.csv", "f1,f2,f3,noise\n1,2,3\n")
	badLabel := write(t, dir, "badlabel.csv", "f1,f2,f3,noise,y\n1,2,3,4,7\n")
	img := write(t, dir, "x.png", "not a png")
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	notModel := write(t, dir, "m.safetensors", "garbage")
	preds := filepath.Join(dir, "preds.csv")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"--input", path}, "--model"},
		{"no input", []string{"--model", model}, "--input"},
		{"model missing", []string{"--model", filepath.Join(dir, "nope"), "--input", path}, "nope"},
		{"corrupt model", []string{"--model", notModel, "--input", path}, "m.safetensors"},
		{"input missing", []string{"--model", model, "--input", filepath.Join(dir, "nope.csv")}, "nope.csv"},
		{"missing column", []string{"--model", model, "--input", missing}, `no column "f2"`},
		{"non-numeric", []string{"--model", model, "--input", text}, `column "f3"`},
		{"no rows", []string{"--model", model, "--input", empty}, "no data rows"},
		{"ragged", []string{"--model", model, "--input", ragged}, "fields"},
		{"bad label", []string{"--model", model, "--input", badLabel}, "class label"},
		{"image for tabular model", []string{"--model", model, "--input", img}, "trained on images"},
		{"empty dir", []string{"--model", model, "--input", emptyDir}, "no .png"},
		{"bad format", []string{"--model", model, "--input", path, "--format", "xml"}, "--format"},
		{"output dir missing", []string{"--model", model, "--input", path, "--output", filepath.Join(dir, "no", "p.csv")}, "--output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, e := runSam(t, append([]string{"predict", "--output", preds}, tc.args...)...)
			if tc.name == "output dir missing" {
				code, _, e = runSam(t, append([]string{"predict"}, tc.args...)...)
			}
			if code != 2 || strings.Count(strings.TrimSpace(e), "\n") != 0 || !strings.Contains(e, tc.want) {
				t.Fatalf("exit %d, stderr %q (want %q)", code, e, tc.want)
			}
			if _, err := os.Stat(preds); err == nil {
				t.Fatal("an output file was written")
			}
		})
	}
}

// TestEvalBadInput: eval's flags and data are checked in one line with exit status 2.
func TestEvalBadInput(t *testing.T) {
	dir := t.TempDir()
	path := writeTabular(t, dir, 60)
	out := filepath.Join(dir, "run")
	if code, _, e := runSam(t, "train", "--data", "csv:"+path, "--target", "y", "--model", "mlp", "--hidden", "4",
		"--epochs", "1", "--val-fraction", "0", "--out", out, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	model := filepath.Join(out, "model.safetensors")
	other := write(t, dir, "other.csv", "f1,f2,noise,y\n1,2,3,0\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", nil, "--model"},
		{"bad split", []string{"--model", model, "--split", "dev"}, "--split"},
		{"empty split", []string{"--model", model, "--split", "val"}, "empty"},
		{"bad format", []string{"--model", model, "--format", "xml"}, "--format"},
		{"missing column", []string{"--model", model, "--data", "csv:" + other}, `no column "f3"`},
		{"out is a file", []string{"--model", model, "--out", path}, "--out"},
		{"out under a file", []string{"--model", model, "--out", filepath.Join(path, "sub")}, "--out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, e := runSam(t, append([]string{"eval"}, tc.args...)...)
			if code != 2 || strings.Count(strings.TrimSpace(e), "\n") != 0 || !strings.Contains(e, tc.want) {
				t.Fatalf("exit %d, stderr %q (want %q)", code, e, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(out, "eval.json")); err == nil {
		t.Fatal("eval.json written by a failing eval")
	}
	// Bad data with a new --out: the folder is not even created.
	fresh := filepath.Join(dir, "fresh")
	if code, _, _ := runSam(t, "eval", "--model", model, "--data", "csv:"+other, "--out", fresh); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Fatal("--out created for a failing eval")
	}
}
