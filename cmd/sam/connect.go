package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

type connectFlags struct {
	measureFlags
	model2        string
	points        int
	steps         int
	lr, momentum  float64
	curveBatch    int
	curveExamples int
	bnExamples    int
	scale         string
	quiet         bool
}

// PathReport is one path of connect.json.
type PathReport struct {
	Barrier   float64   `json:"barrier"`    // max_t L(t) − ((1−t)L(0) + tL(1))
	BarrierAt float64   `json:"barrier_at"` // the t of the barrier
	MaxLoss   float64   `json:"max_loss"`
	T         []float64 `json:"t"`
	Loss      []float64 `json:"loss"`
	Accuracy  []float64 `json:"accuracy,omitempty"`
}

// ConnectReport is connect.json.
type ConnectReport struct {
	Model          string      `json:"model"`
	Model2         string      `json:"model2"`
	Architecture   string      `json:"architecture"`
	Data           string      `json:"data"`
	BNRecomputed   bool        `json:"bn_recomputed"`
	Straight       PathReport  `json:"straight"`
	Curve          *PathReport `json:"bezier,omitempty"`
	CurveSteps     int         `json:"curve_steps"`
	CurveLR        float64     `json:"curve_lr"`
	CurveMomentum  float64     `json:"curve_momentum"`
	CurveBatch     int         `json:"curve_batch"`
	CurveExamples  int         `json:"curve_examples"`
	CurveLossFirst float64     `json:"curve_train_loss_first,omitempty"` // mean mini-batch loss of the first tenth of the steps
	CurveLossLast  float64     `json:"curve_train_loss_last,omitempty"`  // and of the last tenth
	Seconds        float64     `json:"seconds"`
}

func newConnectCmd(stdout, stderr io.Writer) *cobra.Command {
	var f connectFlags
	cmd := &cobra.Command{
		Use:   "connect",
		Short: "Loss barrier between two trained models: straight path and a trained Bézier curve",
		Long: `Measure the loss between two solutions (mode connectivity, Garipov et al., NeurIPS 2018):
along the straight path (1−t)·A + t·B and along a quadratic Bézier curve
θ(t) = (1−t)²·A + 2t(1−t)·C + t²·B whose control point C is trained by SGD with momentum
on E_{t∼U(0,1)} L(θ(t)) over the training split (training mode), starting from the midpoint.
The barrier of a path is max_t L(t) − ((1−t)·L(A) + t·L(B)), the excess over the endpoints'
chord (0 when the path stays below it).

Losses are measured in evaluation mode on a seeded subset of --split (default: the training
split of the data the first checkpoint was trained on). For models with BatchNorm the running
statistics are recomputed at every point of both paths on --bn-examples training examples,
as Garipov et al. do (weights between two solutions need their own statistics).

Writes connect.png (both paths), connect.csv, connect.json (barriers) and
curve_midpoint.safetensors (the model θ(0.5) on the curve, a checkpoint) to --out.`,
		Example: `  sam connect --model runs/sgd/model.safetensors --model2 runs/sam/model.safetensors --out runs/connect
  sam connect --model a/model.safetensors --model2 b/model.safetensors --curve-steps 0   # straight path only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConnect(cmd, &f, stdout, stderr)
		},
	}
	f.register(cmd, 2000)
	fl := cmd.Flags()
	fl.StringVar(&f.model2, "model2", "", "the second checkpoint (same architecture); required")
	fl.IntVar(&f.points, "points", 41, "points per path, t from 0 to 1")
	fl.IntVar(&f.steps, "curve-steps", 300, "SGD steps training the Bézier control point (0 = the straight path only)")
	fl.Float64Var(&f.lr, "curve-lr", 0.05, "learning rate of the curve's training")
	fl.Float64Var(&f.momentum, "curve-momentum", 0.9, "heavy-ball momentum of the curve's training (0 = none)")
	fl.IntVar(&f.curveBatch, "curve-batch", 64, "examples per step of the curve's training")
	fl.IntVar(&f.curveExamples, "curve-examples", 10000, "training examples the curve is trained on (seeded subset of the training split)")
	fl.IntVar(&f.bnExamples, "bn-examples", 2000, "BatchNorm models: training examples on which the statistics are recomputed at each point")
	fl.StringVar(&f.scale, "scale", "linear", "loss axis: linear or log")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}

func (f *connectFlags) check() error {
	if err := f.measureFlags.check(); err != nil {
		return err
	}
	switch {
	case f.model2 == "":
		return fmt.Errorf("--model2: required (the second model.safetensors)")
	case f.points < 3 || f.points > 1001:
		return fmt.Errorf("--points: want 3 to 1001, got %d", f.points)
	case f.steps < 0:
		return fmt.Errorf("--curve-steps: must be ≥ 0, got %d", f.steps)
	case f.curveBatch < 1:
		return fmt.Errorf("--curve-batch: must be ≥ 1, got %d", f.curveBatch)
	case f.curveExamples < 1:
		return fmt.Errorf("--curve-examples: must be ≥ 1, got %d", f.curveExamples)
	case f.bnExamples < 1:
		return fmt.Errorf("--bn-examples: must be ≥ 1, got %d", f.bnExamples)
	case f.momentum < 0 || f.momentum >= 1 || f.momentum != f.momentum:
		return fmt.Errorf("--curve-momentum: want 0 ≤ momentum < 1, got %g", f.momentum)
	case f.scale != "linear" && f.scale != "log":
		return fmt.Errorf("--scale: want linear or log, got %q", f.scale)
	}
	return positive("--curve-lr", f.lr)
}

func runConnect(cmd *cobra.Command, f *connectFlags, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return usage(err)
	}
	a, err := loadCheckpoint("--model", f.model)
	if err != nil {
		return usage(err)
	}
	b, err := loadSecond(a, f.model2)
	if err != nil {
		return usage(err)
	}
	out, err := f.outDir()
	if err != nil {
		return usage(err)
	}
	set, desc, err := f.measureSet(cmd, a)
	if err != nil {
		return usage(err)
	}
	// The training examples of the curve and of the BatchNorm statistics.
	tf := f.measureFlags
	tf.split, tf.subset = "train", max(f.curveExamples, f.bnExamples)
	trainSet, _, err := tf.measureSet(cmd, a)
	if err != nil {
		return usage(err)
	}
	obj, err := sharpness.NewObjective(a.model, set, f.batch)
	if err != nil {
		return usage(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usage(fmt.Errorf("--out: %v", err))
	}
	tensor.SetThreads(f.threads)
	start := time.Now()
	logf := func(format string, args ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sam: "+format+"\n", args...)
		}
	}
	logf("%s on %s", a.model.Describe(), desc)
	r := ConnectReport{Model: f.model, Model2: f.model2, Architecture: a.model.Describe(), Data: desc,
		CurveSteps: f.steps, CurveLR: f.lr, CurveMomentum: f.momentum, CurveBatch: f.curveBatch}
	var popt sharpness.PathOptions
	if sub, err := sharpness.Subset(trainSet, f.bnExamples, f.seed); err == nil && sharpness.HasBatchNorm(a.model) {
		popt = sharpness.PathOptions{BN: sub, BNBatch: f.batch}
		r.BNRecomputed = true
	}
	ts := sharpness.Linspace(0, 1, f.points)
	classify := set.IsClassification()
	line := sharpness.PathLosses(obj, ts, func(dst []float32, t float64) {
		for i := range dst {
			dst[i] = float32((1-t)*float64(a.w[i]) + t*float64(b.w[i]))
		}
	}, popt)
	if r.Straight, err = pathReport(line, classify); err != nil {
		return err
	}
	logf("straight path: barrier %.4g (%.1fs)", r.Straight.Barrier, time.Since(start).Seconds())
	lp := report.LinePlot{Title: "Loss between two models: straight path and trained Bézier curve",
		XLabel: "t  (" + a.label + " at 0, " + b.label + " at 1)", YLabel: "loss (" + f.split + ", " + strconv.Itoa(set.N()) + " examples)",
		LogY: f.scale == "log", Series: []report.Series{{Name: "straight line", X: ts, Y: r.Straight.Loss}}}
	rows := [][]string{{"path", "t", "loss", "accuracy"}}
	for _, p := range line {
		rows = append(rows, []string{"straight", fmtF(p.Alpha), fmtF(p.Loss), fmtAcc(classify, p.Acc)})
	}
	mid := make([]float32, len(a.w))
	if f.steps > 0 {
		curveSet, err := sharpness.Subset(trainSet, f.curveExamples, f.seed)
		if err != nil {
			return err
		}
		r.CurveExamples = curveSet.N()
		mom := f.momentum
		if mom == 0 {
			mom = -1 // CurveOptions: negative is none, 0 the default
		}
		res, err := sharpness.TrainBezier(a.model, curveSet, a.w, b.w, sharpness.CurveOptions{Steps: f.steps, LR: f.lr,
			Momentum: mom, Batch: f.curveBatch, Seed: f.seed})
		if err != nil {
			return err
		}
		tenth := max(1, len(res.Losses)/10)
		r.CurveLossFirst, r.CurveLossLast = mean(res.Losses[:tenth]), mean(res.Losses[len(res.Losses)-tenth:])
		logf("curve trained: mini-batch loss %.4g → %.4g (%.1fs)", r.CurveLossFirst, r.CurveLossLast, time.Since(start).Seconds())
		curve := sharpness.PathLosses(obj, ts, func(dst []float32, t float64) { sharpness.BezierPoint(dst, a.w, res.Control, b.w, t) }, popt)
		cr, err := pathReport(curve, classify)
		if err != nil {
			return err
		}
		r.Curve = &cr
		lp.Series = append(lp.Series, report.Series{Name: "Bézier curve (trained)", X: ts, Y: cr.Loss})
		for _, p := range curve {
			rows = append(rows, []string{"bezier", fmtF(p.Alpha), fmtF(p.Loss), fmtAcc(classify, p.Acc)})
		}
		sharpness.BezierPoint(mid, a.w, res.Control, b.w, 0.5)
	} else {
		for i := range mid {
			mid[i] = (a.w[i] + b.w[i]) / 2
		}
	}
	lp.Markers = []report.Marker{{Name: a.label + " (t = 0)", X: 0}, {Name: b.label + " (t = 1)", X: 1}}
	if err := writeFigure(out, "connect", rows, lp.Write); err != nil {
		return err
	}
	// The model half way along the curve, with its own statistics, as a checkpoint.
	saved := sharpness.NewStats(a.model)
	if popt.BN != nil {
		sharpness.RecomputeBN(a.model, mid, popt.BN, popt.BNBatch)
	}
	err = train.SaveModel(filepath.Join(out, "curve_midpoint.safetensors"), a.model, mid, a.cfg, a.pre)
	saved.Restore()
	if err != nil {
		return err
	}
	r.Seconds = time.Since(start).Seconds()
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomic.WriteBytes(filepath.Join(out, "connect.json"), append(js, '\n')); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "models\t%s → %s (%s)\n", f.model, f.model2, r.Architecture)
	fmt.Fprintf(tw, "data\t%s\n", desc)
	fmt.Fprintf(tw, "loss at the ends\t%.5g\t%.5g\n", line[0].Loss, line[len(line)-1].Loss)
	fmt.Fprintf(tw, "straight barrier\t%.5g\t(at t = %.3g, max loss %.5g)\n", r.Straight.Barrier, r.Straight.BarrierAt, r.Straight.MaxLoss)
	if r.Curve != nil {
		fmt.Fprintf(tw, "bezier barrier\t%.5g\t(at t = %.3g, max loss %.5g; %d steps)\n", r.Curve.Barrier, r.Curve.BarrierAt, r.Curve.MaxLoss, f.steps)
	}
	for _, name := range []string{"connect.png", "connect.csv", "connect.json", "curve_midpoint.safetensors"} {
		fmt.Fprintf(tw, "written\t%s\n", filepath.Join(out, name))
	}
	return tw.Flush()
}

// loadSecond loads --model2, which must have a's architecture; equal labels get "A: " and "B: ".
func loadSecond(a *loaded, path string) (*loaded, error) {
	b, err := loadCheckpoint("--model2", path)
	if err != nil {
		return nil, err
	}
	if b.model.Layout.String() != a.model.Layout.String() {
		return nil, fmt.Errorf("--model2: %s has another architecture (%s) than --model (%s)", path, b.model.Describe(), a.model.Describe())
	}
	if b.label == a.label {
		a.label, b.label = "A: "+a.label, "B: "+b.label
	}
	return b, nil
}

func pathReport(pts []sharpness.Point, classify bool) (PathReport, error) {
	h, at, err := sharpness.Barrier(pts)
	if err != nil {
		return PathReport{}, err
	}
	pr := PathReport{Barrier: h, BarrierAt: at}
	for _, p := range pts {
		pr.T, pr.Loss = append(pr.T, p.Alpha), append(pr.Loss, p.Loss)
		pr.MaxLoss = max(pr.MaxLoss, p.Loss)
		if classify {
			pr.Accuracy = append(pr.Accuracy, p.Acc)
		}
	}
	return pr, nil
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
