package sweep

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/train"
)

// Point aggregates the validation trials of one configuration over seeds and folds.
type Point struct {
	Rho         float64  `json:"rho"`
	LR          float64  `json:"lr"`
	L2          float64  `json:"l2"`
	N           int      `json:"n"` // trials (seeds × folds)
	ValAccMean  *float64 `json:"val_acc_mean,omitempty"`
	ValAccStd   *float64 `json:"val_acc_std,omitempty"`
	ValLossMean *float64 `json:"val_loss_mean"` // null when some trial's loss was not finite
	ValLossStd  *float64 `json:"val_loss_std"`
	Diverged    int      `json:"diverged,omitempty"`
}

// Key returns the point's configuration.
func (p Point) Key() Key { return Key{p.Rho, p.LR, p.L2} }

// TestSummary is a configuration retrained on train+validation with every seed and evaluated
// once on the test split.
type TestSummary struct {
	Rho          float64   `json:"rho"`
	LR           float64   `json:"lr"`
	L2           float64   `json:"l2"`
	Seeds        []uint64  `json:"seeds"`
	TestAcc      []float64 `json:"test_acc,omitempty"`
	TestLoss     []float64 `json:"test_loss,omitempty"`
	TestAccMean  *float64  `json:"test_acc_mean,omitempty"`
	TestAccStd   *float64  `json:"test_acc_std,omitempty"`
	TestLossMean *float64  `json:"test_loss_mean,omitempty"`
	TestLossStd  *float64  `json:"test_loss_std,omitempty"`
}

// Row is one trial in results.json and results.csv (timings left out, so that the files of a
// sharded and an unsharded sweep are identical).
type Row struct {
	Trial
	Steps int `json:"steps"`
	train.Scores
	Stopped string `json:"stopped,omitempty"`
}

// Results is results.json.
type Results struct {
	Data   string `json:"data"`
	Model  string `json:"model"`
	Opt    string `json:"optimizer"`
	Metric string `json:"metric"` // "val_acc" (higher is better) or "val_loss" (lower)
	Best   Point  `json:"best"`
	// BestConfig is the full training config of the best configuration's final run with the
	// first seed (trained on train+validation).
	BestConfig *train.Config `json:"best_config"`
	Baseline   *Point        `json:"baseline,omitempty"` // the best ρ = 0 configuration
	Test       struct {
		Best     *TestSummary `json:"best"`
		Baseline *TestSummary `json:"baseline,omitempty"`
	} `json:"test"`
	Grid   []Point `json:"grid"`
	Trials []Row   `json:"trials"`
	TestN  int     `json:"test_examples"`
	PoolN  int     `json:"pool_examples"`
	Folds  int     `json:"folds,omitempty"`
	Seeds  int     `json:"seeds"`
}

// finish aggregates the validation trials, runs the final trials and writes the report.
func finish(ctx context.Context, s *Spec, p *pool, o Options) (*Results, error) {
	have, err := done(o.Out)
	if err != nil {
		return nil, err
	}
	cv := s.Trials()
	missing := 0
	for _, t := range cv {
		if have[t.ID] == nil {
			missing++
		}
	}
	if missing > 0 {
		return nil, fmt.Errorf("%s: %d of %d trials are not finished; run the missing shards (or the sweep) again first", o.Out, missing, len(cv))
	}
	classify := s.Base.Task == "classification"
	r := &Results{Data: p.name, Model: s.Base.Model.Model, Opt: s.Base.Optimizer.Name, Metric: "val_loss",
		TestN: p.test.N(), PoolN: p.train.N(), Folds: s.Folds, Seeds: s.Seeds}
	if classify {
		r.Metric = "val_acc"
	}
	byKey := map[Key][]*Record{}
	for _, t := range cv {
		byKey[t.Key()] = append(byKey[t.Key()], have[t.ID])
	}
	for _, k := range s.keys() {
		r.Grid = append(r.Grid, aggregate(k, byKey[k]))
	}
	// The best configuration: ties go to the smaller ρ, then to the earlier one in the grid.
	order := make([]int, len(r.Grid))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return r.Grid[order[a]].Rho < r.Grid[order[b]].Rho })
	bestOf := func(want func(Point) bool) *Point {
		var best *Point
		for _, i := range order {
			pt := &r.Grid[i]
			if want(*pt) && (best == nil || better(classify, *pt, *best)) {
				best = pt
			}
		}
		return best
	}
	best := bestOf(func(Point) bool { return true })
	r.Best = *best
	if b := bestOf(func(pt Point) bool { return pt.Rho == 0 }); b != nil {
		bb := *b
		r.Baseline = &bb
	}
	finals := s.Finals(r.Best.Key())
	if r.Baseline != nil && r.Baseline.Key() != r.Best.Key() {
		finals = append(finals, s.Finals(r.Baseline.Key())...)
	}
	o2 := o
	o2.Shard, o2.Shards = 0, 1
	if err := runTrials(ctx, s, p, finals, o2); err != nil {
		return nil, err
	}
	if have, err = done(o.Out); err != nil {
		return nil, err
	}
	if o.Log != nil {
		known := map[string]bool{}
		for _, t := range append(cv, finals...) {
			known[t.ID] = true
		}
		extra := 0
		for id := range have {
			if !known[id] {
				extra++
			}
		}
		if extra > 0 {
			fmt.Fprintf(o.Log, "sweep: %d trial files in %s are not part of this grid; they are ignored\n", extra, filepath.Join(o.Out, TrialsDir))
		}
	}
	r.BestConfig = have[s.Finals(r.Best.Key())[0].ID].Config
	r.Test.Best = testSummary(s, r.Best.Key(), have)
	if r.Baseline != nil {
		r.Test.Baseline = testSummary(s, r.Baseline.Key(), have)
	}
	for _, t := range append(cv, finals...) {
		rec := have[t.ID]
		f := rec.Final
		r.Trials = append(r.Trials, Row{Trial: t, Steps: f.Steps, Scores: f.Scores, Stopped: f.Stopped})
	}
	if err := r.write(o.Out, s); err != nil {
		return nil, err
	}
	return r, nil
}

// score is the point's selection metric, oriented so that larger is better (−Inf if unknown).
func score(classify bool, p Point) float64 {
	if classify {
		if p.ValAccMean == nil {
			return math.Inf(-1)
		}
		return *p.ValAccMean
	}
	if p.ValLossMean == nil {
		return math.Inf(-1)
	}
	return -*p.ValLossMean
}

// better reports whether a beats b by more than rounding: means of the same per-trial values
// summed in another order differ in the last bits, and such a tie must go to the smaller ρ.
func better(classify bool, a, b Point) bool {
	x, y := score(classify, a), score(classify, b)
	if math.IsInf(y, -1) {
		return x > y
	}
	return x-y > 1e-9*math.Max(1, math.Abs(y))
}

func aggregate(k Key, recs []*Record) Point {
	pt := Point{Rho: k.Rho, LR: k.LR, L2: k.L2, N: len(recs)}
	var acc, loss []float64
	lossOK := true
	for _, r := range recs {
		if r.Final.Stopped != "" {
			pt.Diverged++
		}
		if r.Final.ValAcc != nil {
			acc = append(acc, *r.Final.ValAcc)
		}
		if r.Final.ValLoss != nil {
			loss = append(loss, *r.Final.ValLoss)
		} else {
			lossOK = false
		}
	}
	if len(acc) == len(recs) && len(acc) > 0 {
		pt.ValAccMean, pt.ValAccStd = meanStd(acc)
	}
	if lossOK && len(loss) > 0 {
		pt.ValLossMean, pt.ValLossStd = meanStd(loss)
	}
	return pt
}

// meanStd returns the mean and the sample standard deviation (0 for a single value).
func meanStd(v []float64) (*float64, *float64) {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	sd := 0.0
	if len(v) > 1 {
		sd = math.Sqrt(ss / float64(len(v)-1))
	}
	if math.IsNaN(m) || math.IsInf(m, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) {
		return nil, nil
	}
	return &m, &sd
}

func testSummary(s *Spec, k Key, have map[string]*Record) *TestSummary {
	ts := &TestSummary{Rho: k.Rho, LR: k.LR, L2: k.L2}
	accOK, lossOK := true, true
	for _, t := range s.Finals(k) {
		f := have[t.ID].Final
		ts.Seeds = append(ts.Seeds, t.Seed)
		if f.TestAcc != nil {
			ts.TestAcc = append(ts.TestAcc, *f.TestAcc)
		} else {
			accOK = false
		}
		if f.TestLoss != nil {
			ts.TestLoss = append(ts.TestLoss, *f.TestLoss)
		} else {
			lossOK = false
		}
	}
	if accOK {
		ts.TestAccMean, ts.TestAccStd = meanStd(ts.TestAcc)
	}
	if lossOK {
		ts.TestLossMean, ts.TestLossStd = meanStd(ts.TestLoss)
	}
	return ts
}

// write writes results.json, results.csv, report.md and rho.png.
func (r *Results) write(dir string, s *Spec) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomic.WriteBytes(filepath.Join(dir, "results.json"), append(js, '\n')); err != nil {
		return err
	}
	if err := atomic.WriteFile(filepath.Join(dir, "results.csv"), r.writeCSV); err != nil {
		return err
	}
	if err := atomic.WriteFile(filepath.Join(dir, "report.md"), func(w io.Writer) error { return r.writeMarkdown(w, s) }); err != nil {
		return err
	}
	return r.plot(filepath.Join(dir, "rho.png"))
}

func num(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func (r *Results) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "kind", "rho", "lr", "l2", "seed", "fold", "steps", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "stopped"})
	for _, t := range r.Trials {
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		cw.Write([]string{t.ID, t.Kind, f(t.Rho), f(t.LR), f(t.L2), strconv.FormatUint(t.Seed, 10), strconv.Itoa(t.Fold),
			strconv.Itoa(t.Steps), num(t.TrainLoss), num(t.TrainAcc), num(t.ValLoss), num(t.ValAcc), num(t.TestLoss), num(t.TestAcc), t.Stopped})
	}
	cw.Flush()
	return cw.Error()
}

// pm formats mean ± std, as a percentage when pct.
func pm(m, sd *float64, pct bool) string {
	if m == nil {
		return "–"
	}
	if pct {
		return fmt.Sprintf("%.2f ± %.2f%%", 100**m, 100**sd)
	}
	return fmt.Sprintf("%.4f ± %.4f", *m, *sd)
}

func (r *Results) writeMarkdown(w io.Writer, s *Spec) error {
	classify := r.Metric == "val_acc"
	split := fmt.Sprintf("%d-fold cross-validation", s.Folds)
	if s.Folds == 0 {
		split = fmt.Sprintf("a validation split of %g", s.ValFraction)
	}
	fmt.Fprintf(w, "# ρ sweep: %s, %s, %s\n\n", r.Data, r.Model, r.Opt)
	fmt.Fprintf(w, "%d configurations (ρ ∈ {%s}, lr ∈ {%s}, L2 ∈ {%s}) × %d seeds, %s of a training pool of %d examples; "+
		"test split: %d examples. Selection by mean validation %s (ties to the smaller ρ); the best configuration and the "+
		"ρ = 0 baseline are retrained on train+validation with every seed and evaluated once on the test split.\n\n",
		len(r.Grid), join(s.Rho), join(s.LR), join(s.L2), s.Seeds, split, r.PoolN, r.TestN, map[bool]string{true: "accuracy", false: "loss"}[classify])
	fmt.Fprintf(w, "## Test\n\n| | ρ | lr | L2 | test accuracy | test loss |\n|---|---|---|---|---|---|\n")
	row := func(name string, t *TestSummary) {
		if t == nil {
			return
		}
		fmt.Fprintf(w, "| %s | %g | %g | %g | %s | %s |\n", name, t.Rho, t.LR, t.L2, pm(t.TestAccMean, t.TestAccStd, true), pm(t.TestLossMean, t.TestLossStd, false))
	}
	row("baseline (ρ = 0)", r.Test.Baseline)
	row("best", r.Test.Best)
	fmt.Fprintf(w, "\nmean ± standard deviation over %d seeds.\n\n", s.Seeds)
	fmt.Fprintf(w, "## Validation\n\n![validation metric vs ρ](rho.png)\n\n| ρ | lr | L2 | trials | val accuracy | val loss | |\n|---|---|---|---|---|---|---|\n")
	for _, p := range r.Grid {
		mark := ""
		if p.Key() == r.Best.Key() {
			mark = "best"
		} else if r.Baseline != nil && p.Key() == r.Baseline.Key() {
			mark = "baseline"
		}
		if p.Diverged > 0 {
			mark = strings.TrimSpace(mark + fmt.Sprintf(" %d diverged", p.Diverged))
		}
		fmt.Fprintf(w, "| %g | %g | %g | %d | %s | %s | %s |\n", p.Rho, p.LR, p.L2, p.N, pm(p.ValAccMean, p.ValAccStd, true), pm(p.ValLossMean, p.ValLossStd, false), mark)
	}
	fmt.Fprintf(w, "\nPer-trial numbers: results.csv, results.json; per-epoch metrics: trials/<id>.json.\n")
	return nil
}

func join(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strings.Join(s, ", ")
}

type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// plot draws rho.png: the validation metric against ρ (evenly spaced, labelled), one line per
// (lr, L2) with error bars of ± one standard deviation, the baseline as a dashed line and the
// best configuration starred.
func (r *Results) plot(path string) error {
	classify := r.Metric == "val_acc"
	val := func(p Point) (float64, float64, bool) {
		if classify {
			if p.ValAccMean == nil {
				return 0, 0, false
			}
			return 100 * *p.ValAccMean, 100 * *p.ValAccStd, true
		}
		if p.ValLossMean == nil {
			return 0, 0, false
		}
		return *p.ValLossMean, *p.ValLossStd, true
	}
	var rhos []float64
	for _, p := range r.Grid {
		if !containsF(rhos, p.Rho) {
			rhos = append(rhos, p.Rho)
		}
	}
	sort.Float64s(rhos)
	xOf := func(rho float64) float64 { return float64(sort.SearchFloat64s(rhos, rho)) }
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s, %s: validation %s vs ρ", r.Data, r.Model, map[bool]string{true: "accuracy", false: "loss"}[classify])
	pl.X.Label.Text = "ρ"
	pl.Y.Label.Text = map[bool]string{true: "validation accuracy (%)", false: "validation loss"}[classify]
	pl.Add(plotter.NewGrid())
	ticks := make([]plot.Tick, len(rhos))
	for i, rho := range rhos {
		ticks[i] = plot.Tick{Value: float64(i), Label: strconv.FormatFloat(rho, 'g', -1, 64)}
	}
	pl.X.Tick.Marker = plot.ConstantTicks(ticks)
	pl.X.Min, pl.X.Max = -0.3, float64(len(rhos)-1)+0.3
	type series struct{ lr, l2 float64 }
	var order []series
	groups := map[series][]Point{}
	for _, p := range r.Grid {
		k := series{p.LR, p.L2}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	multi := len(order) > 1
	for i, k := range order {
		pts := groups[k]
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].Rho < pts[b].Rho })
		var ep errPoints
		for _, p := range pts {
			m, sd, ok := val(p)
			if !ok {
				continue
			}
			ep.XYs = append(ep.XYs, plotter.XY{X: xOf(p.Rho), Y: m})
			ep.YErrors = append(ep.YErrors, struct{ Low, High float64 }{sd, sd})
		}
		if len(ep.XYs) == 0 {
			continue
		}
		c := plotutil.Color(i)
		ln, sc, err := plotter.NewLinePoints(ep.XYs)
		if err != nil {
			return err
		}
		ln.Color, ln.Width = c, vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = c, draw.CircleGlyph{}, vg.Points(3)
		eb, err := plotter.NewYErrorBars(ep)
		if err != nil {
			return err
		}
		eb.Color, eb.Width = c, vg.Points(1)
		pl.Add(ln, sc, eb)
		name := "mean ± std over seeds/folds"
		if multi {
			name = fmt.Sprintf("lr %g, L2 %g", k.lr, k.l2)
		}
		pl.Legend.Add(name, ln, sc)
	}
	if r.Baseline != nil {
		if m, _, ok := val(*r.Baseline); ok {
			bl, err := plotter.NewLine(plotter.XYs{{X: pl.X.Min, Y: m}, {X: pl.X.Max, Y: m}})
			if err != nil {
				return err
			}
			bl.Color, bl.Width, bl.Dashes = color.Gray{Y: 90}, vg.Points(1), []vg.Length{vg.Points(5), vg.Points(3)}
			pl.Add(bl)
			pl.Legend.Add(fmt.Sprintf("baseline ρ = 0 (%s)", r.Opt), bl)
		}
	}
	if m, _, ok := val(r.Best); ok {
		st, err := plotter.NewScatter(plotter.XYs{{X: xOf(r.Best.Rho), Y: m}})
		if err != nil {
			return err
		}
		st.Shape, st.Radius, st.Color = draw.PyramidGlyph{}, vg.Points(6), color.RGBA{R: 200, A: 255}
		pl.Add(st)
		pl.Legend.Add(fmt.Sprintf("best: ρ %g, lr %g, L2 %g", r.Best.Rho, r.Best.LR, r.Best.L2), st)
	}
	// Room above the data for the legend.
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for _, p := range r.Grid {
		if m, sd, ok := val(p); ok {
			ylo, yhi = math.Min(ylo, m-sd), math.Max(yhi, m+sd)
		}
	}
	if ylo < yhi {
		pad := yhi - ylo
		pl.Y.Min, pl.Y.Max = ylo-0.05*pad, yhi+0.45*pad
	}
	pl.Legend.Top = true
	pl.Legend.Left = false
	img := vgimg.NewWith(vgimg.UseWH(7*vg.Inch, 5*vg.Inch), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	pl.Draw(draw.New(img))
	return atomic.WriteFile(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

func containsF(v []float64, x float64) bool {
	for _, y := range v {
		if y == x {
			return true
		}
	}
	return false
}
