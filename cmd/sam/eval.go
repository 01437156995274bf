package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

type evalFlags struct {
	model, data, dataDir, target, split, out, format string
	batch, threads                                   int
}

// EvalReport is eval.json.
type EvalReport struct {
	Model     string   `json:"model"`
	Arch      string   `json:"architecture"`
	Data      string   `json:"data"`
	Split     string   `json:"split"`
	Examples  int      `json:"examples"`
	Loss      float64  `json:"loss"`
	Accuracy  *float64 `json:"accuracy,omitempty"`
	Classes   []string `json:"classes,omitempty"`
	Confusion [][]int  `json:"confusion,omitempty"` // [true][predicted]
	MSE       *float64 `json:"mse,omitempty"`
	R2        *float64 `json:"r2,omitempty"`
	Outputs   []string `json:"files,omitempty"`
	Warnings  []string `json:"warnings,omitempty"`
}

func newEvalCmd(stdout, stderr io.Writer) *cobra.Command {
	var f evalFlags
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a trained model on a split: loss, accuracy and confusion matrix (or MSE and R²)",
		Long: `eval measures a checkpoint written by sam train, in evaluation mode, on a split of its own
data (the same splits, seed and standardisation as the run) or of another data set (--data;
CSV columns are matched by name and the checkpoint's stored preprocessing is applied). It prints
the loss and accuracy with a confusion matrix for classification, or the MSE and R² for
regression, and writes eval.json and (classification) confusion.png to --out.`,
		Example: `  sam eval --model runs/mnist/model.safetensors
  sam eval --model runs/iris/model.safetensors --split all --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEval(&f, stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "the checkpoint (model.safetensors written by sam train); required")
	fl.StringVar(&f.data, "data", "", "data set (default: the checkpoint's own, with the same splits)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory with the IDX files of mnist / fashion-mnist (default: as in the checkpoint)")
	fl.StringVar(&f.target, "target", "", "csv: the target column (default: the one the model was trained on)")
	fl.StringVar(&f.split, "split", "test", "split: train, val, test or all")
	fl.StringVar(&f.out, "out", "", "output directory for eval.json and confusion.png (default: the directory of --model)")
	fl.StringVar(&f.format, "format", "table", "stdout: table or json")
	fl.IntVar(&f.batch, "batch", 256, "rows per forward pass (does not change the results)")
	fl.IntVar(&f.threads, "threads", 0, "worker threads for the kernels (0 = all cores)")
	return cmd
}

func (f *evalFlags) check() error {
	if f.model == "" {
		return errors.New("--model: required (a model.safetensors written by sam train)")
	}
	switch f.split {
	case "train", "val", "test", "all":
	default:
		return fmt.Errorf("--split: want train, val, test or all, got %q", f.split)
	}
	switch f.format {
	case "table", "json":
	default:
		return fmt.Errorf("--format: want table or json, got %q", f.format)
	}
	if f.batch <= 0 {
		return fmt.Errorf("--batch: must be > 0, got %d", f.batch)
	}
	if f.threads < 0 {
		return fmt.Errorf("--threads: must be ≥ 0, got %d", f.threads)
	}
	if f.target != "" && !strings.HasPrefix(f.data, "csv:") {
		return errors.New("--target: only applies to --data csv:PATH")
	}
	return nil
}

// openModel loads a checkpoint named by a flag; errors are one line.
func openModel(flag, path string) (*train.Checkpoint, error) {
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %s: no such file", flag, path)
	} else if st.IsDir() {
		return nil, fmt.Errorf("%s: %s is a directory (want a .safetensors file)", flag, path)
	}
	ck, err := train.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", flag, err)
	}
	return ck, nil
}

func runEval(f *evalFlags, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return usage(err)
	}
	ck, err := openModel("--model", f.model)
	if err != nil {
		return usage(err)
	}
	var warnings []string
	warn := func(s string) { warnings = append(warnings, s); fmt.Fprintf(stderr, "sam: warning: %s\n", s) }
	d, err := ck.Data(train.DataOptions{Data: f.data, DataDir: f.dataDir, Target: f.target}, warn)
	if err != nil {
		return usage(err)
	}
	set := map[string]*data.Set{"train": d.Train, "val": d.Val, "test": d.Test}[f.split]
	if f.split == "all" {
		set = concat(d.Train, d.Val, d.Test)
	}
	if set.N() == 0 {
		return usage(fmt.Errorf("--split %s: the %s split of %s is empty for this run (try --split all)", f.split, f.split, d.Name))
	}
	out := f.out
	if out == "" {
		out = filepath.Dir(f.model)
	}
	if err := checkOutDir(out); err != nil {
		return usage(err)
	}
	tensor.SetThreads(f.threads)
	rep := evaluateSet(ck, set, f.batch)
	rep.Model, rep.Data, rep.Split, rep.Warnings = f.model, d.Name, f.split, warnings
	if rep.Confusion != nil {
		p := filepath.Join(out, "confusion.png")
		title := fmt.Sprintf("model %s, %s (%s split, %d examples): accuracy %.2f%%", modelLabel(f.model), d.Name, f.split, rep.Examples, 100**rep.Accuracy)
		if err := (report.ConfusionPlot{Title: title, Names: rep.Classes, Counts: rep.Confusion}).Write(p); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		rep.Outputs = append(rep.Outputs, p)
	}
	p := filepath.Join(out, "eval.json")
	rep.Outputs = append(rep.Outputs, p)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := atomic.WriteBytes(p, append(js, '\n')); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if f.format == "json" {
		_, err := stdout.Write(append(js, '\n'))
		return err
	}
	printEval(stdout, rep)
	return nil
}

// evaluateSet measures the checkpoint on s (already preprocessed) in evaluation mode.
func evaluateSet(ck *train.Checkpoint, s *data.Set, batch int) *EvalReport {
	m, w := ck.Model, ck.Weights
	n, k := s.N(), m.Spec.Outputs
	loss, correct := m.Evaluate(w, s.X, n, nn.Target{Labels: s.Labels, Y: s.Y}, batch)
	rep := &EvalReport{Arch: m.Describe(), Examples: n, Loss: loss}
	logits := train.Logits(m, w, s.X, n, batch)
	if s.Labels != nil {
		acc := float64(correct) / float64(n)
		rep.Accuracy = &acc
		rep.Classes = ck.Pre.ClassNames
		kc := len(rep.Classes)
		rep.Confusion = make([][]int, kc)
		for i := range rep.Confusion {
			rep.Confusion[i] = make([]int, kc)
		}
		class, _ := train.Predictions(logits, n, k)
		for r, c := range class {
			rep.Confusion[s.Labels[r]][c]++
		}
		return rep
	}
	var sse, sst float64
	for o := range k {
		var mean float64
		for r := range n {
			mean += float64(s.Y[r*k+o])
		}
		mean /= float64(n)
		for r := range n {
			e := float64(logits[r*k+o]) - float64(s.Y[r*k+o])
			t := float64(s.Y[r*k+o]) - mean
			sse += e * e
			sst += t * t
		}
	}
	mse := sse / float64(n*k)
	rep.MSE = &mse
	if sst > 0 {
		r2 := 1 - sse/sst
		rep.R2 = &r2
	}
	return rep
}

func printEval(w io.Writer, r *EvalReport) {
	fmt.Fprintf(w, "%s: %s\n", r.Model, r.Arch)
	fmt.Fprintf(w, "%s, %s split: %d examples, evaluation mode\n", r.Data, r.Split, r.Examples)
	if r.Accuracy != nil {
		fmt.Fprintf(w, "loss %.4f  accuracy %.2f%%\n\n", r.Loss, 100**r.Accuracy)
		fmt.Fprintln(w, "confusion matrix (rows: true class, columns: predicted)")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprint(tw, "\t")
		for _, c := range r.Classes {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprint(tw, "recall\t\n")
		for i, row := range r.Confusion {
			fmt.Fprintf(tw, "%s\t", r.Classes[i])
			n := 0
			for _, v := range row {
				fmt.Fprintf(tw, "%d\t", v)
				n += v
			}
			if n > 0 {
				fmt.Fprintf(tw, "%.1f%%\t\n", 100*float64(row[i])/float64(n))
			} else {
				fmt.Fprint(tw, "-\t\n")
			}
		}
		tw.Flush()
	} else {
		fmt.Fprintf(w, "loss %.6g  MSE %.6g", r.Loss, *r.MSE)
		if r.R2 != nil {
			fmt.Fprintf(w, "  R² %.4f", *r.R2)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "outputs: %s\n", strings.Join(r.Outputs, ", "))
}

// concat joins sets of the same shape and task.
func concat(sets ...*data.Set) *data.Set {
	out := sets[0].Subset(nil)
	for _, s := range sets {
		if s.N() == 0 {
			continue
		}
		out.X = append(out.X, s.X[:s.N()*s.Dim()]...)
		if s.Labels != nil {
			out.Labels = append(out.Labels, s.Labels...)
		}
		if s.Y != nil {
			out.Y = append(out.Y, s.Y...)
		}
	}
	return out
}

// checkOutDir checks that dir can take output files before any work starts: it is created if
// missing, and a probe file is created and removed in it. Errors are one line naming --out.
func checkOutDir(dir string) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("--out: %s exists and is not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: cannot create %s: %v", dir, osReason(err))
	}
	f, err := os.CreateTemp(dir, ".sam-probe-*")
	if err != nil {
		return fmt.Errorf("--out: %s is not writable: %v", dir, osReason(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// osReason is the operating system's reason in err (for a *fs.PathError, without the path).
func osReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
