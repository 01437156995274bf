package ui

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
)

// sweepSpec is the part of sweep.json (sweep.Spec) the page shows.
type sweepSpec struct {
	Base  json.RawMessage `json:"base"`
	Rho   []float64       `json:"rho"`
	LR    []float64       `json:"lr"`
	L2    []float64       `json:"l2"`
	Seeds int             `json:"seeds"`
	Folds int             `json:"folds"`
	cols  *config
}

func (s *sweepSpec) afterParse() { s.cols = decodeConfig(s.Base) }

// record is the part of trials/<id>.json (sweep.Record) the page shows.
type record struct {
	ID     string           `json:"id"`
	Kind   string           `json:"kind"`
	Rho    float64          `json:"rho"`
	LR     float64          `json:"lr"`
	L2     float64          `json:"l2"`
	Seed   uint64           `json:"seed"`
	Fold   int              `json:"fold"`
	Config json.RawMessage  `json:"config"`
	Epochs []map[string]any `json:"epochs"`
	Final  struct {
		scores
		Steps       int     `json:"steps"`
		WallSeconds float64 `json:"wall_seconds"`
		Stopped     string  `json:"stopped"`
	} `json:"final"`
	cols *config
}

func (r *record) afterParse() { r.cols = decodeConfig(r.Config) }

// sweep reads a sweep folder and its trials; each trial becomes a run of the index.
func (s *scanner) sweep(ix *index, rt *root, rel string, files map[string]fileInfo, problems []string, budget *int) *Sweep {
	sw := &Sweep{ID: rt.id(rel), root: rt, rel: rel, files: files, Problems: append([]string{}, problems...),
		Rho: []float64{}, LR: []float64{}, L2: []float64{}}
	tfiles, _, tproblems, err := rt.readDir(path.Join(rel, trialsDir), budget)
	sw.Problems = append(sw.Problems, tproblems...)
	if err != nil && !isNotExist(err) {
		sw.Problems = append(sw.Problems, fmt.Sprintf("%s: %v", trialsDir, cleanErr(err)))
	}
	all := map[string]fileInfo{}
	for k, v := range files {
		all[k] = v
	}
	for k, v := range tfiles {
		all[trialsDir+"/"+k] = v
	}
	_, mod, version := listing(all)
	sw.Files, _, _ = listing(files)
	sw.Modified, sw.Version = mod, version

	v, err := s.cached(rt, path.Join(rel, sweepSpecFile), files[sweepSpecFile], parseAs[sweepSpec])
	if err != nil {
		sw.Status = "corrupt"
		sw.Problems = append(sw.Problems, fmt.Sprintf("%s: %v", sweepSpecFile, err))
	} else {
		sp := v.(*sweepSpec)
		sw.Rho, sw.LR, sw.L2, sw.Seeds, sw.Folds = orEmpty(sp.Rho), orEmpty(sp.LR), orEmpty(sp.L2), sp.Seeds, sp.Folds
		sw.Expected = len(sp.Rho) * len(sp.LR) * len(sp.L2) * sp.Seeds * max(sp.Folds, 1)
		var base Run
		base.setConfig(sp.Base, sp.cols)
		sw.Data, sw.Model, sw.Optimizer, sw.Variant = base.Data, base.Model, base.Optimizer, base.Variant
		if sw.Variant == "base" {
			sw.Variant = "sam" // the grid's first ρ is 0
		}
	}

	names := make([]string, 0, len(tfiles))
	for name := range tfiles {
		if strings.HasSuffix(name, ".json") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		p := path.Join(rel, trialsDir, name)
		t := &Run{ID: sw.ID + "/" + trialsDir + "/" + strings.TrimSuffix(name, ".json"), Kind: "trial", Sweep: sw.ID,
			root: rt, rel: path.Join(rel, trialsDir), record: p, Problems: []string{}, Files: []string{}}
		fi := tfiles[name]
		t.Modified = fi.mod
		t.Version = fmt.Sprintf("%x-%x", fi.size, fi.mod.UnixNano())
		v, err := s.cached(rt, p, fi, parseAs[record])
		if err != nil {
			t.Status = "corrupt"
			t.Problems = append(t.Problems, fmt.Sprintf("%s: %v", trialsDir+"/"+name, err))
			sw.Problems = append(sw.Problems, fmt.Sprintf("%s: %v", trialsDir+"/"+name, err))
			ix.runs = append(ix.runs, t)
			continue
		}
		rec := v.(*record)
		if rec.ID+".json" != name {
			t.Problems = append(t.Problems, fmt.Sprintf("%s holds trial %q", name, rec.ID))
		}
		t.rows = nonNilRows(rec.Epochs)
		t.MetricRows = len(t.rows)
		t.noteRows()
		t.setConfig(rec.Config, rec.cols)
		t.Rho, t.LR, t.Seed, t.TrialKind, t.L2 = &rec.Rho, &rec.LR, &rec.Seed, rec.Kind, &rec.L2
		fold := rec.Fold
		t.Fold = &fold
		t.Final, t.Steps, t.WallSeconds, t.Stopped = rec.Final.scores.final(), rec.Final.Steps, rec.Final.WallSeconds, rec.Final.Stopped
		t.Status = "done"
		if t.Stopped != "" {
			t.Status = "stopped"
		}
		if rec.Kind == "cv" {
			sw.Finished++
		}
		sw.trials = append(sw.trials, t)
		ix.runs = append(ix.runs, t)
	}

	if fi, ok := files[resultsFile]; ok {
		v, err := s.cached(rt, path.Join(rel, resultsFile), fi, parseObject)
		if err != nil {
			sw.Problems = append(sw.Problems, fmt.Sprintf("%s: %v", resultsFile, err))
		} else {
			sw.results = v.(json.RawMessage)
		}
	}
	switch {
	case sw.Status == "corrupt":
	case sw.results != nil:
		sw.Status = "done"
	case s.now().Sub(sw.Modified) < s.live:
		sw.Status, sw.Live = "running", true
	default:
		sw.Status = "incomplete"
	}
	return sw
}

func nonNilRows(v []map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(v))
	for _, r := range v {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// Point is a configuration of a sweep's grid with its validation metric over seeds and folds.
type Point struct {
	Rho         float64  `json:"rho"`
	LR          float64  `json:"lr"`
	L2          float64  `json:"l2"`
	N           int      `json:"n"`
	ValAccMean  *float64 `json:"val_acc_mean"`
	ValAccStd   *float64 `json:"val_acc_std"`
	ValLossMean *float64 `json:"val_loss_mean"`
	ValLossStd  *float64 `json:"val_loss_std"`
}

// points aggregates the finished validation trials per configuration: mean and sample
// standard deviation over seeds and folds, as sam sweep's report does (a configuration with a
// missing value has no mean).
func points(trials []*Run) []Point {
	type key struct{ rho, lr, l2 float64 }
	groups := map[key][]*Run{}
	var keys []key
	for _, t := range trials {
		if t.TrialKind != "cv" || t.Rho == nil || t.LR == nil {
			continue
		}
		var l2 float64
		if t.L2 != nil {
			l2 = *t.L2
		}
		k := key{*t.Rho, *t.LR, l2}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.rho != b.rho {
			return a.rho < b.rho
		}
		if a.lr != b.lr {
			return a.lr < b.lr
		}
		return a.l2 < b.l2
	})
	out := make([]Point, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		p := Point{Rho: k.rho, LR: k.lr, L2: k.l2, N: len(g)}
		p.ValAccMean, p.ValAccStd = meanSD(g, "val_acc")
		p.ValLossMean, p.ValLossStd = meanSD(g, "val_loss")
		out = append(out, p)
	}
	return out
}

// meanSD is the mean and sample standard deviation of metric k over runs (nil when a run lacks
// it or it is not finite).
func meanSD(runs []*Run, k string) (*float64, *float64) {
	var sum, sq float64
	for _, r := range runs {
		v := r.Final[k]
		if v == nil {
			return nil, nil
		}
		sum += *v
	}
	n := float64(len(runs))
	mean := sum / n
	for _, r := range runs {
		d := *r.Final[k] - mean
		sq += d * d
	}
	sd := 0.0
	if len(runs) > 1 {
		sd = math.Sqrt(sq / (n - 1))
	}
	if math.IsNaN(mean+sd) || math.IsInf(mean+sd, 0) {
		return nil, nil
	}
	return &mean, &sd
}
