package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

type trajectoryFlags struct {
	measureFlags
	points int
	margin float64
	scale  string
	quiet  bool
}

// snapshot is one saved step of a run.
type snapshot struct {
	step int
	*loaded
}

// run is the snapshots of one training run, by step.
type trajRun struct {
	dir   string
	label string
	snaps []snapshot
}

// TrajectoryRun is one run of trajectory.json.
type TrajectoryRun struct {
	Dir   string       `json:"dir"`
	Label string       `json:"label"`
	Steps []int        `json:"steps"`
	XY    [][2]float64 `json:"xy"`   // coordinates on the plane (d₁, d₂) of each snapshot
	Loss  []float64    `json:"loss"` // each snapshot's own loss (its weights, not their projection)
}

// TrajectoryReport is trajectory.json.
type TrajectoryReport struct {
	Origin       string          `json:"origin"` // the final weights of the first run
	Data         string          `json:"data"`
	Explained    [2]float64      `json:"explained_variance_ratio"`
	SameStart    *bool           `json:"same_start,omitempty"` // with two runs: are their step-0 weights equal?
	Runs         []TrajectoryRun `json:"runs"`
	GridMin      [2]float64      `json:"grid_min"`
	GridMax      [2]float64      `json:"grid_max"`
	GridPoints   int             `json:"grid_points"`
	MinGridLoss  float64         `json:"min_grid_loss"`
	MaxGridLoss  float64         `json:"max_grid_loss"`
	Seconds      float64         `json:"seconds"`
	Architecture string          `json:"architecture"`
}

func newTrajectoryCmd(stdout, stderr io.Writer) *cobra.Command {
	var f trajectoryFlags
	cmd := &cobra.Command{
		Use:   "trajectory DIR [DIR2]",
		Short: "Draw the path training took over the loss surface (PCA of weight snapshots)",
		Long: `Project the path of a training run on the plane of the two principal directions of its
weight snapshots' differences from the final weights (Li et al., NeurIPS 2018) and draw it over
the loss contours of that plane. DIR is the output folder of sam train --snapshot-every N (or its
snapshots folder). With DIR2 a second run (say SAM next to SGD, from the same start: same
--seed) is projected on the same plane: the directions come from both runs' snapshots, the
origin is the final weights of the first.

Losses are measured in evaluation mode on a seeded subset of --split of the first run's data,
with the first run's final BatchNorm statistics on the plane. Writes trajectory.png,
trajectory.csv (the loss grid), trajectory_path.csv (each snapshot's coordinates and its own
loss) and trajectory.json to --out (default: DIR).`,
		Example: `  sam train --data fashion-mnist --model cnn --opt sgd --rho 0 --epochs 2 --snapshot-every 100 --out runs/sgd
  sam train --data fashion-mnist --model cnn --opt sgd --rho 0.05 --epochs 2 --snapshot-every 100 --out runs/sam
  sam trajectory runs/sgd runs/sam --out runs/trajectory`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrajectory(cmd, &f, args, stdout, stderr)
		},
	}
	f.register(cmd, 2000)
	cmd.Flags().MarkHidden("model")
	cmd.Flags().Lookup("out").Usage = "output directory (default: DIR)"
	fl := cmd.Flags()
	fl.IntVar(&f.points, "points", 21, "grid points per axis of the loss contours")
	fl.Float64Var(&f.margin, "margin", 0.2, "the grid extends the paths' range by this fraction on each side")
	fl.StringVar(&f.scale, "scale", "log", "colour scale: log or linear")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}

// loadRun reads every step_N.safetensors of dir/snapshots (or of dir).
func loadRun(arg, dir string) (*trajRun, error) {
	sd := filepath.Join(dir, train.SnapshotDir)
	if st, err := os.Stat(sd); err != nil || !st.IsDir() {
		sd = dir
	}
	if st, err := os.Stat(sd); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%s: %s is not a directory", arg, dir)
	}
	files, err := filepath.Glob(filepath.Join(sd, "step_*.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", arg, err)
	}
	r := &trajRun{dir: dir, label: filepath.Base(filepath.Clean(dir))}
	if r.label == train.SnapshotDir {
		r.label = filepath.Base(filepath.Dir(filepath.Clean(dir)))
	}
	for _, p := range files {
		s, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "step_"), ".safetensors"))
		if err != nil {
			continue
		}
		l, err := loadCheckpoint(arg, p)
		if err != nil {
			return nil, err
		}
		r.snaps = append(r.snaps, snapshot{step: s, loaded: l})
	}
	if len(r.snaps) < 3 {
		return nil, fmt.Errorf("%s: %d weight snapshots in %s, want ≥ 3 (train with sam train --snapshot-every N)", arg, len(r.snaps), sd)
	}
	slices.SortFunc(r.snaps, func(a, b snapshot) int { return a.step - b.step })
	for _, s := range r.snaps[1:] {
		if s.model.Layout.String() != r.snaps[0].model.Layout.String() {
			return nil, fmt.Errorf("%s: snapshot %s has another architecture than %s", arg, s.path, r.snaps[0].path)
		}
	}
	return r, nil
}

func runTrajectory(cmd *cobra.Command, f *trajectoryFlags, args []string, stdout, stderr io.Writer) error {
	var runs []*trajRun
	for i, dir := range args {
		r, err := loadRun(map[int]string{0: "DIR", 1: "DIR2"}[i], dir)
		if err != nil {
			return usage(err)
		}
		runs = append(runs, r)
	}
	final := runs[0].snaps[len(runs[0].snaps)-1]
	if len(runs) == 2 {
		if runs[1].snaps[0].model.Layout.String() != final.model.Layout.String() {
			return usage(fmt.Errorf("DIR2: %s has another architecture (%s) than %s (%s)", args[1], runs[1].snaps[0].model.Describe(), args[0], final.model.Describe()))
		}
		if runs[1].label == runs[0].label {
			runs[0].label, runs[1].label = "A: "+runs[0].label, "B: "+runs[1].label
		}
	}
	f.model = final.path
	if f.out == "" {
		f.out = args[0]
	}
	if err := f.measureFlags.check(); err != nil {
		return usage(err)
	}
	switch {
	case f.points < 3 || f.points > 201:
		return usage(fmt.Errorf("--points: want 3 to 201, got %d", f.points))
	case math.IsNaN(f.margin) || f.margin < 0 || f.margin > 10:
		return usage(fmt.Errorf("--margin: want 0 to 10, got %g", f.margin))
	case f.scale != "log" && f.scale != "linear":
		return usage(fmt.Errorf("--scale: want log or linear, got %q", f.scale))
	}
	out, err := f.outDir()
	if err != nil {
		return usage(err)
	}
	set, desc, err := f.measureSet(cmd, final.loaded)
	if err != nil {
		return usage(err)
	}
	obj, err := sharpness.NewObjective(final.model, set, f.batch)
	if err != nil {
		return usage(err)
	}
	tensor.SetThreads(f.threads)
	start := time.Now()
	logf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sam: "+format+"\n", a...)
		}
	}
	var all [][]float32
	for _, r := range runs {
		for _, s := range r.snaps {
			all = append(all, s.w)
		}
	}
	tr, err := sharpness.TrajectoryPCA(all, final.w)
	if err != nil {
		return usage(fmt.Errorf("DIR: %v", err))
	}
	logf("%d snapshots; principal directions explain %.1f%% and %.1f%% of the variance", len(all), 100*tr.Explained[0], 100*tr.Explained[1])
	rep := TrajectoryReport{Origin: final.path, Data: desc, Explained: tr.Explained, GridPoints: f.points, Architecture: final.model.Describe()}
	if len(runs) == 2 {
		same := slices.Equal(runs[0].snaps[0].w, runs[1].snaps[0].w)
		rep.SameStart = &same
	}
	var xy [][2]float64
	pathRows := [][]string{{"run", "step", "x", "y", "loss", "accuracy"}}
	for _, r := range runs {
		tj := TrajectoryRun{Dir: r.dir, Label: r.label}
		for _, s := range r.snaps {
			p := tr.Project(s.w, final.w)
			o, err := sharpness.NewObjective(s.model, set, f.batch) // the snapshot's own BatchNorm statistics
			if err != nil {
				return usage(err)
			}
			l, acc := o.Loss(s.w)
			tj.Steps, tj.XY, tj.Loss = append(tj.Steps, s.step), append(tj.XY, p), append(tj.Loss, l)
			xy = append(xy, p)
			pathRows = append(pathRows, []string{r.label, strconv.Itoa(s.step), fmtF(p[0]), fmtF(p[1]), fmtF(l), fmtAcc(set.IsClassification(), acc)})
		}
		rep.Runs = append(rep.Runs, tj)
	}
	lo, hi := sharpness.Span(xy, f.margin)
	rep.GridMin, rep.GridMax = lo, hi
	xs, ys := sharpness.Linspace(lo[0], hi[0], f.points), sharpness.Linspace(lo[1], hi[1], f.points)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usage(fmt.Errorf("--out: %v", err))
	}
	pts, err := sharpness.Plane(obj, final.w, tr.D1, tr.D2, xs, ys)
	if err != nil {
		return err
	}
	logf("loss grid %d×%d done (%.1fs)", f.points, f.points, time.Since(start).Seconds())
	g := report.Grid{X: xs, Y: ys}
	gridRows := [][]string{{"x", "y", "loss", "accuracy"}}
	rep.MinGridLoss, rep.MaxGridLoss = math.Inf(1), math.Inf(-1)
	for j := range ys {
		row := make([]float64, len(xs))
		for i := range xs {
			p := pts[j*len(xs)+i]
			row[i] = p.Loss
			rep.MinGridLoss, rep.MaxGridLoss = math.Min(rep.MinGridLoss, p.Loss), math.Max(rep.MaxGridLoss, p.Loss)
			gridRows = append(gridRows, []string{fmtF(p.Alpha), fmtF(p.Beta), fmtF(p.Loss), fmtAcc(set.IsClassification(), p.Acc)})
		}
		g.Z = append(g.Z, row)
	}
	hp := report.HeatPlot{Title: "Training paths, PCA plane",
		XLabel: fmt.Sprintf("1st PCA direction (%.1f%% of the variance)", 100*tr.Explained[0]),
		YLabel: fmt.Sprintf("2nd PCA direction (%.1f%%)", 100*tr.Explained[1]),
		ZLabel: "loss (" + f.split + ", " + strconv.Itoa(set.N()) + " examples)", Grid: g, LogZ: f.scale == "log",
		Points: []report.Point{{Name: "final " + runs[0].label, X: 0, Y: 0}}}
	for _, r := range rep.Runs {
		s := report.Series{Name: r.Label}
		for _, p := range r.XY {
			s.X, s.Y = append(s.X, p[0]), append(s.Y, p[1])
		}
		hp.Paths = append(hp.Paths, s)
	}
	if err := writeCSV(filepath.Join(out, "trajectory.csv"), gridRows); err != nil {
		return err
	}
	if err := writeCSV(filepath.Join(out, "trajectory_path.csv"), pathRows); err != nil {
		return err
	}
	if err := hp.Write(filepath.Join(out, "trajectory.png")); err != nil {
		return err
	}
	rep.Seconds = time.Since(start).Seconds()
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := atomic.WriteBytes(filepath.Join(out, "trajectory.json"), append(js, '\n')); err != nil {
		return err
	}
	for _, name := range []string{"trajectory.png", "trajectory.csv", "trajectory_path.csv", "trajectory.json"} {
		fmt.Fprintln(stdout, filepath.Join(out, name))
	}
	return nil
}
