package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

type predictFlags struct {
	model, input, output, format string
	logits                       bool
	batch, threads               int
}

func newPredictCmd(stdout, stderr io.Writer) *cobra.Command {
	var f predictFlags
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Predict with a trained model: CSV rows, an image file or a directory of images",
		Long: `predict applies a checkpoint written by sam train to new inputs, with the preprocessing
stored in the checkpoint (the training columns, mean and standard deviation, image size):

  a CSV file with a header row: the training columns in any order (extra columns are ignored;
    a missing one is an error naming it). When the target column is there too, its labels are
    copied to the output and the accuracy (or MSE) is printed to stderr;
  a PNG or JPEG image of the training size (models trained on image data), or a directory of them.

It writes one line per input: the id (row number or file), the class, its name and the class
probabilities (softmax), or for regression the value; --logits adds the raw outputs. CSV or
JSON, to stdout or --output.`,
		Example: `  sam predict --model runs/iris/model.safetensors --input new.csv
  sam predict --model runs/mnist/model.safetensors --input digits/ --format json --output preds.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runPredict(&f, stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "the checkpoint (model.safetensors written by sam train); required")
	fl.StringVar(&f.input, "input", "", "a CSV file, a PNG/JPEG image or a directory of images; required")
	fl.StringVar(&f.output, "output", "", "write the predictions to this file (default: stdout)")
	fl.StringVar(&f.format, "format", "", "csv or json (default: from the --output extension, else csv)")
	fl.BoolVar(&f.logits, "logits", false, "also write the model's raw outputs (logits)")
	fl.IntVar(&f.batch, "batch", 256, "rows per forward pass (does not change the results)")
	fl.IntVar(&f.threads, "threads", 0, "worker threads for the kernels (0 = all cores)")
	return cmd
}

// inputs are the examples to predict, raw (before standardisation).
type inputs struct {
	ids    []string
	x      []float32
	labels []string // the target column's cells, when the CSV has it
	target string
}

func (f *predictFlags) check() error {
	if f.model == "" {
		return errors.New("--model: required (a model.safetensors written by sam train)")
	}
	if f.input == "" {
		return errors.New("--input: required (a CSV file, an image or a directory of images)")
	}
	if f.format == "" {
		f.format = "csv"
		if strings.EqualFold(filepath.Ext(f.output), ".json") {
			f.format = "json"
		}
	}
	if f.format != "csv" && f.format != "json" {
		return fmt.Errorf("--format: want csv or json, got %q", f.format)
	}
	if f.batch <= 0 {
		return fmt.Errorf("--batch: must be > 0, got %d", f.batch)
	}
	if f.threads < 0 {
		return fmt.Errorf("--threads: must be ≥ 0, got %d", f.threads)
	}
	if f.output != "" {
		if st, err := os.Stat(f.output); err == nil && st.IsDir() {
			return fmt.Errorf("--output: %s is a directory", f.output)
		}
		if st, err := os.Stat(filepath.Dir(f.output)); err != nil || !st.IsDir() {
			return fmt.Errorf("--output: directory %s does not exist", filepath.Dir(f.output))
		}
	}
	return nil
}

func runPredict(f *predictFlags, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return usage(err)
	}
	ck, err := openModel("--model", f.model)
	if err != nil {
		return usage(err)
	}
	pre, err := ck.Preprocessing(func(s string) { fmt.Fprintf(stderr, "sam: warning: %s\n", s) })
	if err != nil {
		return usage(err)
	}
	in, err := readInputs(f.input, pre)
	if err != nil {
		return usage(err)
	}
	n := len(in.ids)
	if pre.Standardize != nil {
		pre.Standardize.ApplyRows(in.x)
	}
	tensor.SetThreads(f.threads)
	k := ck.Model.Spec.Outputs
	logits := train.Logits(ck.Model, ck.Weights, in.x, n, f.batch)
	var buf bytes.Buffer
	if f.format == "json" {
		err = writePredJSON(&buf, pre, in, logits, k, f.logits)
	} else {
		err = writePredCSV(&buf, pre, in, logits, k, f.logits)
	}
	if err != nil {
		return err
	}
	if in.labels != nil {
		if s, err := score(pre, in, logits, k); err != nil {
			return usage(err)
		} else {
			fmt.Fprintf(stderr, "sam: %s\n", s)
		}
	}
	if f.output == "" {
		_, err = stdout.Write(buf.Bytes())
		return err
	}
	if err := atomic.WriteBytes(f.output, buf.Bytes()); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}

// readInputs reads a CSV file, an image or a directory of images for the model described by pre.
func readInputs(path string, pre *train.Preprocess) (*inputs, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--input: %s: no such file or directory", path)
	}
	var files []string
	switch {
	case st.IsDir():
		if files, err = imageFiles(path); err != nil {
			return nil, err
		}
	case imageExt(path):
		files = []string{path}
	default:
		fh, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--input: %v", err)
		}
		defer fh.Close()
		return readCSVInputs(fh, path, pre)
	}
	if !pre.Image || len(pre.Input) != 3 {
		return nil, fmt.Errorf("--input: image files need a model trained on images (mnist, fashion-mnist); this one was trained on %s with input shape %v", pre.Data, pre.Input)
	}
	c, h, w := pre.Input[0], pre.Input[1], pre.Input[2]
	d := c * h * w
	in := &inputs{x: make([]float32, len(files)*d)}
	for i, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--input: %v", err)
		}
		if err := decodePixels(b, c, h, w, in.x[i*d:(i+1)*d]); err != nil {
			return nil, fmt.Errorf("--input: %s: %v", file, err)
		}
		in.ids = append(in.ids, file)
	}
	return in, nil
}

// readCSVInputs reads CSV rows with a header; the model's columns are found by name.
func readCSVInputs(r io.Reader, name string, pre *train.Preprocess) (*inputs, error) {
	if pre.Columns == nil {
		return nil, fmt.Errorf("--input: %s: the model was trained on %s, which has no named columns; give images", name, pre.Data)
	}
	br := bufio.NewReader(r)
	if head, _ := br.Peek(3); string(head) == "\ufeff" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("--input: %s: empty file, want a header row naming the columns", name)
	}
	if err != nil {
		return nil, fmt.Errorf("--input: %s: %v", name, err)
	}
	at := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if _, dup := at[h]; dup {
			return nil, fmt.Errorf("--input: %s: header names column %q twice", name, h)
		}
		at[h] = i
	}
	idx := make([]int, len(pre.Columns))
	for j, c := range pre.Columns {
		i, ok := at[c]
		if !ok {
			return nil, fmt.Errorf("--input: %s: no column %q (the model needs %s)", name, c, train.ListColumns(pre.Columns))
		}
		idx[j] = i
	}
	target, hasTarget := -1, false
	if pre.Target != "" {
		target, hasTarget = at[pre.Target]
	}
	in := &inputs{}
	if hasTarget {
		in.target, in.labels = pre.Target, []string{}
	}
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("--input: %s: %v", name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("--input: %s: line %d has %d fields but the header has %d", name, line, len(rec), len(header))
		}
		for j, i := range idx {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
				return nil, fmt.Errorf("--input: %s: line %d, column %q: %q is not a finite number", name, line, pre.Columns[j], strings.TrimSpace(rec[i]))
			}
			in.x = append(in.x, float32(v))
		}
		if hasTarget {
			in.labels = append(in.labels, strings.TrimSpace(rec[target]))
		}
		in.ids = append(in.ids, strconv.Itoa(row))
	}
	if len(in.ids) == 0 {
		return nil, fmt.Errorf("--input: %s: no data rows after the header", name)
	}
	return in, nil
}

// score compares the predictions with the target column of the input: accuracy, or MSE.
func score(pre *train.Preprocess, in *inputs, logits []float32, k int) (string, error) {
	n := len(in.ids)
	if pre.Task == "classification" {
		class, _ := train.Predictions(logits, n, k)
		correct := 0
		for r, c := range class {
			v, err := strconv.ParseFloat(in.labels[r], 64)
			if err != nil || v != math.Trunc(v) || v < 0 || int(v) >= len(pre.ClassNames) {
				return "", fmt.Errorf("--input: row %d, column %q: %q is not a class label 0..%d", r+1, in.target, in.labels[r], len(pre.ClassNames)-1)
			}
			if int(v) == c {
				correct++
			}
		}
		return fmt.Sprintf("accuracy %.2f%% (%d of %d rows, against the %q column)", 100*float64(correct)/float64(n), correct, n, in.target), nil
	}
	var sse float64
	for r := range n {
		v, err := strconv.ParseFloat(in.labels[r], 64)
		if err != nil {
			return "", fmt.Errorf("--input: row %d, column %q: %q is not a number", r+1, in.target, in.labels[r])
		}
		e := float64(logits[r*k]) - v
		sse += e * e
	}
	return fmt.Sprintf("MSE %.6g (%d rows, against the %q column)", sse/float64(n), n, in.target), nil
}

func f32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

func writePredCSV(w io.Writer, pre *train.Preprocess, in *inputs, logits []float32, k int, withLogits bool) error {
	cw := csv.NewWriter(w)
	n := len(in.ids)
	head := []string{"id"}
	if in.labels != nil {
		head = append(head, in.target)
	}
	classify := pre.Task == "classification"
	if classify {
		head = append(head, "class", "name")
		for _, c := range pre.ClassNames {
			head = append(head, "p_"+c)
		}
	} else if k == 1 {
		head = append(head, "value")
	} else {
		for j := range k {
			head = append(head, fmt.Sprintf("value_%d", j))
		}
	}
	if withLogits {
		for j := range k {
			head = append(head, fmt.Sprintf("logit_%d", j))
		}
	}
	cw.Write(head)
	var class []int
	var prob [][]float64
	if classify {
		class, prob = train.Predictions(logits, n, k)
	}
	for r := range n {
		rec := []string{in.ids[r]}
		if in.labels != nil {
			rec = append(rec, in.labels[r])
		}
		z := logits[r*k : (r+1)*k]
		if classify {
			rec = append(rec, strconv.Itoa(class[r]), pre.ClassNames[class[r]])
			for _, p := range prob[r] {
				rec = append(rec, strconv.FormatFloat(p, 'g', 6, 64))
			}
		} else {
			for _, v := range z {
				rec = append(rec, f32(v))
			}
		}
		if withLogits {
			for _, v := range z {
				rec = append(rec, f32(v))
			}
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

type predJSON struct {
	ID     string    `json:"id"`
	Target string    `json:"target,omitempty"`
	Class  *int      `json:"class,omitempty"`
	Name   string    `json:"name,omitempty"`
	Prob   []float64 `json:"probabilities,omitempty"`
	Value  []float32 `json:"value,omitempty"`
	Logits []float32 `json:"logits,omitempty"`
}

func writePredJSON(w io.Writer, pre *train.Preprocess, in *inputs, logits []float32, k int, withLogits bool) error {
	n := len(in.ids)
	out := make([]predJSON, n)
	var class []int
	var prob [][]float64
	classify := pre.Task == "classification"
	if classify {
		class, prob = train.Predictions(logits, n, k)
	}
	for r := range n {
		p := predJSON{ID: in.ids[r]}
		if in.labels != nil {
			p.Target = in.labels[r]
		}
		z := logits[r*k : (r+1)*k]
		if classify {
			p.Class, p.Name, p.Prob = &class[r], pre.ClassNames[class[r]], prob[r]
		} else {
			p.Value = z
		}
		if withLogits {
			p.Logits = z
		}
		out[r] = p
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(out)
}
