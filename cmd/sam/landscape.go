package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/tensor"
)

type landscapeFlags struct {
	measureFlags
	model2     string
	bnExamples int
	dims       int
	points     int
	span       float64
	pathFrom   float64
	pathTo     float64
	scale      string
	direction  string
	bnStats    bool
	files      []string // --direction FILE[,FILE]
	quiet      bool
}

func newLandscapeCmd(stdout, stderr io.Writer) *cobra.Command {
	var f landscapeFlags
	cmd := &cobra.Command{
		Use:   "landscape",
		Short: "Plot the loss landscape around trained models (1-D or 2-D slices, linear path)",
		Long: `Plot the loss around a trained model along filter-normalised random directions (Li et al.,
NeurIPS 2018): each row (filter) of a weight matrix of the direction has the norm of the same
row of the weights; biases are not moved. --dims 1 draws the loss along one direction,
--dims 2 a heat map with contour lines over a plane of two directions. With --model2 the
second model is drawn too (on the same axes in 1-D, as a second heat map with the same colour
scale in 2-D, its directions normalised to its own weights, drawn with the same seed), and the
loss along the straight line between the two models is plotted as well. For models with
BatchNorm the running statistics are recomputed at every point of that line on --bn-examples
training examples, as sam connect does (weights between two solutions need their own
statistics; neither model's fit them); each model's own slices keep its own statistics.

Losses are measured in evaluation mode on a seeded subset of a split (default: the training
split of the data the first checkpoint was trained on). Writes PNG plots and the CSV behind
each to --out: landscape_1d.png/.csv or landscape_2d[_LABEL].png/landscape_2d.csv, and
path.png/.csv with --model2.

--direction eigen replaces the random directions by the top Hessian eigenvectors of each model
(unit vectors: α is a Euclidean distance in weight space and the loss near 0 is ≈ L + λα²/2),
which shows the sharpness that λ_max measures; random directions mostly see the bulk of the
spectrum.`,
		Example: `  sam landscape --model runs/sgd/model.safetensors --model2 runs/sam/model.safetensors --dims 1 --out cmp
  sam landscape --model runs/sam/model.safetensors --dims 2 --points 25 --out runs/sam`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLandscape(cmd, &f, stdout, stderr)
		},
	}
	f.register(cmd, 2000)
	f.registerCache(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.model2, "model2", "", "a second checkpoint: compared with --model, and the linear path between them")
	fl.IntVar(&f.bnExamples, "bn-examples", 2000, "BatchNorm models with --model2: training examples on which the running statistics are recomputed at each point of the straight path")
	fl.IntVar(&f.dims, "dims", 1, "1 (line) or 2 (plane) directions")
	fl.IntVar(&f.points, "points", 0, "points per axis (default 41 in 1-D, 21 in 2-D)")
	fl.Float64Var(&f.span, "range", 1, "the coefficients of the directions run from −range to range")
	fl.Float64Var(&f.pathFrom, "path-from", -0.5, "linear path: first t of (1−t)·A + t·B")
	fl.Float64Var(&f.pathTo, "path-to", 1.5, "linear path: last t")
	fl.StringVar(&f.direction, "direction", "random", "random: filter-normalised random directions; eigen: the top Hessian eigenvectors (unit norm, so α is a distance in weight space and the curvature at 0 is λ); or FILE[,FILE2]: directions from safetensors named like the weights (one per --dims; sam sharpness --save-eigenvectors writes them), used as they are")
	fl.BoolVar(&f.bnStats, "directions-include-bn-stats", false, "also move the BatchNorm running means and variances: by the loss-landscape convention their direction is the statistics themselves (each scales by 1+α), or the buffer tensors of a --direction FILE where it has them")
	fl.StringVar(&f.scale, "scale", "log", "loss axis (1-D) or colour scale (2-D): log or linear")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}

func (f *landscapeFlags) check() error {
	if err := f.measureFlags.check(); err != nil {
		return err
	}
	if f.bnExamples < 1 {
		return fmt.Errorf("--bn-examples: must be ≥ 1, got %d", f.bnExamples)
	}
	if f.dims != 1 && f.dims != 2 {
		return fmt.Errorf("--dims: want 1 or 2, got %d", f.dims)
	}
	if f.points == 0 {
		f.points = map[int]int{1: 41, 2: 21}[f.dims]
	}
	if f.points < 3 || f.points > 1001 {
		return fmt.Errorf("--points: want 3 to 1001, got %d", f.points)
	}
	if err := positive("--range", f.span); err != nil {
		return err
	}
	if math.IsNaN(f.pathFrom) || math.IsNaN(f.pathTo) || math.IsInf(f.pathFrom, 0) || math.IsInf(f.pathTo, 0) || f.pathFrom >= f.pathTo {
		return fmt.Errorf("--path-from/--path-to: want finite numbers with from < to, got %g and %g", f.pathFrom, f.pathTo)
	}
	f.files = nil
	if f.direction != "random" && f.direction != "eigen" {
		f.files = strings.Split(f.direction, ",")
		if len(f.files) != f.dims {
			return fmt.Errorf("--direction: want random, eigen or %d safetensors file(s) for --dims %d, got %q", f.dims, f.dims, f.direction)
		}
		for _, p := range f.files {
			if st, err := os.Stat(p); err != nil || st.IsDir() {
				return fmt.Errorf("--direction: %s: no such file (want random, eigen or a direction .safetensors)", p)
			}
		}
	}
	if f.bnStats && f.direction == "eigen" {
		return errors.New("--directions-include-bn-stats: applies to random and file directions, not eigen (eigenvectors live in weight space)")
	}
	if f.scale != "log" && f.scale != "linear" {
		return fmt.Errorf("--scale: want log or linear, got %q", f.scale)
	}
	return nil
}

func runLandscape(cmd *cobra.Command, f *landscapeFlags, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return usage(err)
	}
	a, err := loadCheckpoint("--model", f.model)
	if err != nil {
		return usage(err)
	}
	models := []*loaded{a}
	if f.model2 != "" {
		b, err := loadSecond(a, f.model2)
		if err != nil {
			return usage(err)
		}
		models = append(models, b)
	}
	out, err := f.outDir()
	if err != nil {
		return usage(err)
	}
	set, desc, err := f.measureSet(cmd, a)
	if err != nil {
		return usage(err)
	}
	obj, err := f.objective(a.model, set)
	if err != nil {
		return usage(err)
	}
	// The straight path between two BatchNorm models: statistics recomputed at every point.
	var popt sharpness.PathOptions
	if len(models) == 2 && sharpness.HasBatchNorm(a.model) {
		tf := f.measureFlags
		tf.split, tf.subset = "train", f.bnExamples
		bnSet, _, err := tf.measureSet(cmd, a)
		if err != nil {
			return usage(err)
		}
		popt = sharpness.PathOptions{BN: bnSet, BNBatch: f.batch}
	}
	for _, p := range f.files { // bad direction files are bad input: check before writing anything
		for _, m := range models {
			if _, _, err := sharpness.LoadDirection(p, &m.model.Layout, m.model.Buffers()); err != nil {
				return usage(fmt.Errorf("--direction: %v", err))
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return usage(fmt.Errorf("--out: %v", err))
	}
	tensor.SetThreads(f.threads)
	start := time.Now()
	logf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sam: "+format+"\n", a...)
		}
	}
	logf("%s on %s", a.model.Describe(), desc)
	lossLabel := "loss (" + f.split + ", " + strconv.Itoa(set.N()) + " examples)"
	logScale := f.scale == "log"
	coords := sharpness.Linspace(-f.span, f.span, f.points)
	var written []string

	// Each model is evaluated with its own network (its own BatchNorm statistics).
	objs := map[*loaded]*sharpness.Objective{a: obj}
	for _, m := range models[1:] {
		if objs[m], err = f.objective(m.model, set); err != nil {
			return usage(err)
		}
	}
	// statsAt returns the hook that moves m's BatchNorm statistics along sd (nil without
	// --directions-include-bn-stats) and the function that restores them.
	statsAt := func(m *loaded, sd [][][]float32) (func(a, b float64), func()) {
		if sd == nil {
			return nil, func() {}
		}
		st := sharpness.NewStats(m.model)
		return func(a, b float64) {
			var d2 [][]float32
			if len(sd) > 1 {
				d2 = sd[1]
			}
			st.At(a, sd[0], b, d2)
		}, st.Restore
	}
	// directions returns the dims directions at a model's weights, and with
	// --directions-include-bn-stats those of its BatchNorm statistics.
	directions := func(m *loaded) ([][]float32, [][][]float32, error) {
		var sd [][][]float32
		if f.files != nil {
			var ds [][]float32
			for _, p := range f.files {
				d, stats, err := sharpness.LoadDirection(p, &m.model.Layout, m.model.Buffers())
				if err != nil {
					return nil, nil, usage(fmt.Errorf("--direction: %v", err))
				}
				if f.bnStats && stats == nil {
					stats = sharpness.NewStats(m.model).Direction()
				}
				ds, sd = append(ds, d), append(sd, stats)
			}
			if !f.bnStats {
				sd = nil
			}
			return ds, sd, nil
		}
		if f.direction == "random" {
			ds := [][]float32{sharpness.Direction(&m.model.Layout, m.w, f.seed)}
			if f.dims == 2 {
				ds = append(ds, sharpness.Direction(&m.model.Layout, m.w, f.seed+1))
			}
			if f.bnStats {
				for range ds {
					sd = append(sd, sharpness.NewStats(m.model).Direction())
				}
			}
			return ds, sd, nil
		}
		h, err := sharpness.NewHessian(objs[m], m.w, sharpness.Auto)
		if err != nil {
			return nil, nil, err
		}
		e, err := sharpness.TopEigen(h, f.dims, sharpness.LanczosOptions{Seed: f.seed, Vectors: true})
		if err != nil {
			return nil, nil, err
		}
		var ds [][]float32
		for _, v := range e.Vectors {
			d := make([]float32, len(v))
			for i, x := range v {
				d[i] = float32(x)
			}
			ds = append(ds, d)
		}
		logf("%s: top Hessian eigenvalues %.4g", m.label, e.Values)
		return ds, nil, nil
	}
	what, xl1, xl2 := "a filter-normalised random direction", "α  (weights + α·d)", "α  (weights + α·d₁ + β·d₂)"
	plane := "a random plane"
	if f.direction == "eigen" {
		what, xl1, xl2 = "the top Hessian eigenvector", "α  (weights + α·v₁, ‖v₁‖ = 1)", "α  (weights + α·v₁ + β·v₂, unit eigenvectors)"
		plane = "the plane of the top two Hessian eigenvectors"
	}
	if f.files != nil {
		what, xl1, xl2 = "the direction of "+filepath.Base(f.files[0]), "α  (weights + α·d)", "α  (weights + α·d₁ + β·d₂, directions from files)"
		plane = "the plane of the file directions"
	}
	if f.bnStats {
		what += " (BatchNorm statistics moved too)"
		plane += " (BN statistics moved too)"
	}

	if f.dims == 1 {
		lp := report.LinePlot{Title: "Loss along " + what, XLabel: xl1,
			YLabel: lossLabel, LogY: logScale, Markers: []report.Marker{{Name: "trained weights (α = 0)", X: 0}}}
		rows := [][]string{{"model", "alpha", "loss", "accuracy"}}
		for _, m := range models {
			ds, sd, err := directions(m)
			if err != nil {
				return err
			}
			at, restore := statsAt(m, sd)
			pts, err := sharpness.LineWith(objs[m], m.w, ds[0], coords, at)
			restore()
			if err != nil {
				return err
			}
			s := report.Series{Name: m.label}
			for _, p := range pts {
				s.X, s.Y = append(s.X, p.Alpha), append(s.Y, p.Loss)
				rows = append(rows, []string{m.label, fmtF(p.Alpha), fmtF(p.Loss), fmtAcc(set.IsClassification(), p.Acc)})
			}
			lp.Series = append(lp.Series, s)
			logf("%s: 1-D slice done (%.1fs)", m.label, time.Since(start).Seconds())
		}
		if err := writeFigure(out, "landscape_1d", rows, lp.Write); err != nil {
			return err
		}
		written = append(written, "landscape_1d.png", "landscape_1d.csv")
	} else {
		rows := [][]string{{"model", "alpha", "beta", "loss", "accuracy"}}
		var plots []report.HeatPlot
		zmin, zmax := math.Inf(1), math.Inf(-1)
		for _, m := range models {
			ds, sd, err := directions(m)
			if err != nil {
				return err
			}
			at, restore := statsAt(m, sd)
			pts, err := sharpness.PlaneWith(objs[m], m.w, ds[0], ds[1], coords, coords, at)
			restore()
			if err != nil {
				return err
			}
			g := report.Grid{X: coords, Y: coords}
			for j := range coords {
				row := make([]float64, len(coords))
				for i := range coords {
					p := pts[j*len(coords)+i]
					row[i] = p.Loss
					zmin, zmax = math.Min(zmin, p.Loss), math.Max(zmax, p.Loss)
					rows = append(rows, []string{m.label, fmtF(p.Alpha), fmtF(p.Beta), fmtF(p.Loss), fmtAcc(set.IsClassification(), p.Acc)})
				}
				g.Z = append(g.Z, row)
			}
			plots = append(plots, report.HeatPlot{Title: "Loss on " + plane + ": " + m.label, XLabel: xl2,
				YLabel: "β", ZLabel: lossLabel, Grid: g, LogZ: logScale, Points: []report.Point{{Name: "trained weights", X: 0, Y: 0}}})
			logf("%s: 2-D slice done (%.1fs)", m.label, time.Since(start).Seconds())
		}
		if err := writeCSV(filepath.Join(out, "landscape_2d.csv"), rows); err != nil {
			return err
		}
		written = append(written, "landscape_2d.csv")
		for i, hp := range plots {
			hp.ZMin, hp.ZMax = zmin, zmax // one colour scale for every model
			if zmin == zmax {
				hp.ZMin, hp.ZMax = 0, 0
			}
			name := "landscape_2d.png"
			if len(plots) > 1 {
				name = "landscape_2d_" + safeName(models[i].label) + ".png"
			}
			if err := hp.Write(filepath.Join(out, name)); err != nil {
				return err
			}
			written = append(written, name)
		}
	}

	if len(models) == 2 {
		ts := sharpness.Linspace(f.pathFrom, f.pathTo, max(f.points, 41))
		wa, wb := models[0].w, models[1].w
		pts := sharpness.PathLosses(obj, ts, func(dst []float32, t float64) {
			for i := range dst {
				dst[i] = float32((1-t)*float64(wa[i]) + t*float64(wb[i]))
			}
		}, popt)
		title := "Loss on the straight line between the two models"
		if popt.BN != nil {
			title += " (BatchNorm statistics recomputed at each t)"
		}
		lp := report.LinePlot{Title: title,
			XLabel: "t  ((1−t)·" + models[0].label + " + t·" + models[1].label + ")", YLabel: lossLabel, LogY: logScale,
			Markers: []report.Marker{{Name: models[0].label + " (t = 0)", X: 0}, {Name: models[1].label + " (t = 1)", X: 1}}}
		s := report.Series{Name: "interpolation"}
		rows := [][]string{{"t", "loss", "accuracy"}}
		for _, p := range pts {
			s.X, s.Y = append(s.X, p.Alpha), append(s.Y, p.Loss)
			rows = append(rows, []string{fmtF(p.Alpha), fmtF(p.Loss), fmtAcc(set.IsClassification(), p.Acc)})
		}
		lp.Series = []report.Series{s}
		if err := writeFigure(out, "path", rows, lp.Write); err != nil {
			return err
		}
		written = append(written, "path.png", "path.csv")
		if popt.BN != nil {
			logf("linear path done, BatchNorm statistics recomputed at each t on %d training examples (%.1fs)", popt.BN.N(), time.Since(start).Seconds())
		} else {
			logf("linear path done (%.1fs)", time.Since(start).Seconds())
		}
	}
	for _, w := range written {
		fmt.Fprintln(stdout, filepath.Join(out, w))
	}
	return nil
}

// writeFigure writes name.csv and then name.png.
func writeFigure(dir, name string, rows [][]string, plot func(string) error) error {
	if err := writeCSV(filepath.Join(dir, name+".csv"), rows); err != nil {
		return err
	}
	return plot(filepath.Join(dir, name+".png"))
}

func writeCSV(path string, rows [][]string) error {
	return atomic.WriteFile(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	})
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }

func fmtAcc(classify bool, acc float64) string {
	if !classify {
		return ""
	}
	return strconv.FormatFloat(acc, 'f', 6, 64)
}

func safeName(s string) string { return unsafeName.ReplaceAllString(s, "_") }
