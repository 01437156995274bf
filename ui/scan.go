package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// The files the scanner recognises in a folder. A sweep folder holds SweepSpecFile and the
// trial records in TrialsDir (the names of package sweep; a test checks they agree).
const (
	metricsFile   = "metrics.jsonl"
	summaryFile   = "summary.json"
	sharpnessFile = "sharpness.json"
	densityFile   = "density.csv"
	sweepSpecFile = "sweep.json"
	resultsFile   = "results.json"
	trialsDir     = "trials"
)

// Limits of the scan, so that a huge or deep folder cannot stall the server.
const (
	maxDepth    = 8       // folder levels below each directory
	maxEntries  = 200_000 // directory entries looked at per scan
	maxFileSize = 64 << 20
)

// servable lists the extensions of the files a run's files endpoint serves.
var servable = map[string]string{
	".png":   "image/png",
	".csv":   "text/csv; charset=utf-8",
	".json":  "application/json",
	".jsonl": "application/x-ndjson",
	".md":    "text/markdown; charset=utf-8",
}

// Run is one entry of /api/runs: a training run folder, a sweep trial, or a checkpoint folder
// that holds only analysis outputs (sam sharpness, sam landscape).
type Run struct {
	ID     string `json:"id"`              // the folder's path below its directory, prefixed with the directory's name
	Kind   string `json:"kind"`            // "train", "trial" or "checkpoint"
	Sweep  string `json:"sweep,omitempty"` // a trial's sweep
	Status string `json:"status"`          // "done", "running", "incomplete", "stopped" (diverged) or "corrupt"
	Live   bool   `json:"live"`            // still training: no summary.json yet and metrics.jsonl changed recently

	Data      string   `json:"data,omitempty"`
	Model     string   `json:"model,omitempty"`
	Optimizer string   `json:"optimizer,omitempty"`
	Variant   string   `json:"variant,omitempty"` // sam, asam, usam, gsam, ...; "base" when ρ = 0
	Rho       *float64 `json:"rho,omitempty"`
	LR        *float64 `json:"lr,omitempty"`
	Seed      *uint64  `json:"seed,omitempty"`
	Fold      *int     `json:"fold,omitempty"`       // trials: the cross-validation fold (-1: none)
	TrialKind string   `json:"trial_kind,omitempty"` // trials: "cv" or "final"
	L2        *float64 `json:"l2,omitempty"`         // trials: the L2 strength λ

	// Final metrics: of summary.json (or a trial's record) when there, else the last line of
	// metrics.jsonl.
	Final       map[string]*float64 `json:"final,omitempty"`
	Epochs      float64             `json:"epochs"`
	Steps       int                 `json:"steps"`
	WallSeconds float64             `json:"wall_seconds"`
	Stopped     string              `json:"stopped,omitempty"`
	MetricRows  int                 `json:"metric_rows"`
	LambdaMax   bool                `json:"lambda_max"` // metrics.jsonl tracks λ_max
	Sharpness   bool                `json:"sharpness"`  // sharpness.json, density.csv or landscape figures are there

	Files    []string  `json:"files"`    // the files the files endpoint serves
	Problems []string  `json:"problems"` // what could not be read, one line each
	Modified time.Time `json:"modified"`
	Version  string    `json:"version"` // changes whenever one of the run's files changes

	root    *root
	rel     string // the folder below root ("." for the root itself)
	record  string // trials: the record's path below root
	files   map[string]fileInfo
	cfgJSON json.RawMessage
	rows    []map[string]any
}

// Sweep is one entry of /api/sweeps: a folder written by sam sweep.
type Sweep struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"` // "done" (results.json written), "running", "incomplete" or "corrupt"
	Live      bool      `json:"live"`
	Data      string    `json:"data,omitempty"`
	Model     string    `json:"model,omitempty"`
	Optimizer string    `json:"optimizer,omitempty"`
	Variant   string    `json:"variant,omitempty"`
	Rho       []float64 `json:"rho"`
	LR        []float64 `json:"lr"`
	L2        []float64 `json:"l2"`
	Seeds     int       `json:"seeds"`
	Folds     int       `json:"folds"`
	Expected  int       `json:"expected_trials"` // validation trials of the grid
	Finished  int       `json:"finished_trials"` // validation trials found in trials/
	Files     []string  `json:"files"`
	Problems  []string  `json:"problems"`
	Modified  time.Time `json:"modified"`
	Version   string    `json:"version"`

	root    *root
	rel     string
	files   map[string]fileInfo
	results json.RawMessage
	trials  []*Run
}

// root is one of the served directories, opened so that nothing outside it can be read.
type root struct {
	name string // the ID prefix
	dir  string // as given
	fs   *os.Root
}

// index is the result of one scan.
type index struct {
	at       time.Time
	runs     []*Run
	byID     map[string]*Run
	sweeps   []*Sweep
	sweepID  map[string]*Sweep
	problems []string
}

// fileInfo is what the scan notes of a file: enough to tell when it changed.
type fileInfo struct {
	size int64
	mod  time.Time
}

// cacheEntry keeps a parsed file until it changes.
type cacheEntry struct {
	info fileInfo
	val  any
	err  error
}

// scanner walks the directories; it caches parsed files by size and modification time.
type scanner struct {
	roots []*root
	live  time.Duration
	now   func() time.Time
	cache map[string]cacheEntry
	seen  map[string]bool
}

// scan walks every root and returns a fresh index.
func (s *scanner) scan() *index {
	ix := &index{at: s.now(), byID: map[string]*Run{}, sweepID: map[string]*Sweep{}}
	s.seen = map[string]bool{}
	budget := maxEntries
	for _, rt := range s.roots {
		s.walk(ix, rt, ".", 0, &budget)
	}
	if budget <= 0 {
		ix.problems = append(ix.problems, fmt.Sprintf("stopped looking after %d folder entries; serve a smaller folder", maxEntries))
	}
	for k := range s.cache {
		if !s.seen[k] {
			delete(s.cache, k)
		}
	}
	sort.Slice(ix.runs, func(i, j int) bool { return ix.runs[i].ID < ix.runs[j].ID })
	sort.Slice(ix.sweeps, func(i, j int) bool { return ix.sweeps[i].ID < ix.sweeps[j].ID })
	for _, r := range ix.runs {
		ix.byID[r.ID] = r
	}
	for _, sw := range ix.sweeps {
		ix.sweepID[sw.ID] = sw
	}
	return ix
}

// id names folder rel of rt.
func (rt *root) id(rel string) string {
	if rel == "." {
		return rt.name
	}
	return rt.name + "/" + rel
}

// readDir lists folder rel of rt: the regular files (and links to regular files inside rt) by
// name, and the sub-folders (links to folders are not followed). Links that lead out of rt
// and unreadable entries become problems.
func (rt *root) readDir(rel string, budget *int) (files map[string]fileInfo, dirs []string, problems []string, err error) {
	ents, err := fs.ReadDir(rt.fs.FS(), rel)
	if err != nil {
		return nil, nil, nil, err
	}
	files = map[string]fileInfo{}
	for _, e := range ents {
		if *budget--; *budget < 0 {
			break
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // temporary files of atomic writes, hidden folders
		}
		p := path.Join(rel, name)
		switch t := e.Type(); {
		case t.IsDir():
			dirs = append(dirs, name)
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				continue // removed since the listing
			}
			files[name] = fileInfo{info.Size(), info.ModTime()}
		case t&fs.ModeSymlink != 0:
			info, err := rt.fs.Stat(p)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("%s: a symbolic link that leads out of %s (or nowhere); not read", name, rt.dir))
			case info.Mode().IsRegular():
				files[name] = fileInfo{info.Size(), info.ModTime()}
			}
		}
	}
	return files, dirs, problems, nil
}

func (s *scanner) walk(ix *index, rt *root, rel string, depth int, budget *int) {
	files, dirs, problems, err := rt.readDir(rel, budget)
	if err != nil {
		ix.problems = append(ix.problems, fmt.Sprintf("%s: %v", rt.id(rel), cleanErr(err)))
		return
	}
	isSweep := false
	if _, ok := files[sweepSpecFile]; ok {
		isSweep = true
		ix.sweeps = append(ix.sweeps, s.sweep(ix, rt, rel, files, problems, budget))
	} else if r := s.run(rt, rel, files, problems); r != nil {
		ix.runs = append(ix.runs, r)
	}
	if depth >= maxDepth {
		return
	}
	for _, d := range dirs {
		if isSweep && d == trialsDir {
			continue
		}
		s.walk(ix, rt, path.Join(rel, d), depth+1, budget)
	}
}

// isFigure tells the analysis outputs of sam sharpness and sam landscape.
func isFigure(name string) bool {
	return name == "density.png" || name == "path.png" || name == "path.csv" ||
		strings.HasPrefix(name, "landscape_") && (strings.HasSuffix(name, ".png") || strings.HasSuffix(name, ".csv"))
}

// run reads a run folder; nil when the folder holds none of a run's files.
func (s *scanner) run(rt *root, rel string, files map[string]fileInfo, problems []string) *Run {
	_, hasM := files[metricsFile]
	_, hasS := files[summaryFile]
	_, hasSh := files[sharpnessFile]
	_, hasD := files[densityFile]
	fig := false
	for name := range files {
		fig = fig || isFigure(name)
	}
	if !hasM && !hasS && !hasSh && !hasD && !fig {
		return nil
	}
	r := &Run{ID: rt.id(rel), Kind: "train", root: rt, rel: rel, files: files, Problems: append([]string{}, problems...)}
	if !hasM && !hasS {
		r.Kind = "checkpoint"
	}
	r.Sharpness = hasSh || hasD || fig
	r.Files, r.Modified, r.Version = listing(files)
	if hasM {
		v, err := s.cached(rt, path.Join(rel, metricsFile), files[metricsFile], parseMetrics)
		if err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", metricsFile, err))
		} else {
			m := v.(*metricsData)
			r.rows = m.rows
			r.MetricRows = len(m.rows)
			r.Problems = append(r.Problems, m.problems...)
		}
	}
	r.noteRows()
	switch {
	case hasS:
		v, err := s.cached(rt, path.Join(rel, summaryFile), files[summaryFile], parseAs[summary])
		if err != nil {
			r.Status = "corrupt"
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", summaryFile, err))
			break
		}
		sm := v.(*summary)
		r.setConfig(sm.Config, sm.cols)
		r.Final, r.Steps, r.Epochs, r.WallSeconds, r.Stopped = sm.scores.final(), sm.Steps, sm.Epochs, sm.WallSeconds, sm.Stopped
		r.Status = "done"
		if sm.Stopped != "" {
			r.Status = "stopped"
		}
	case hasM:
		r.Status = "incomplete"
		if s.now().Sub(files[metricsFile].mod) < s.live {
			r.Status, r.Live = "running", true
		}
	default:
		r.Status = "done"
	}
	if hasSh {
		if _, err := s.cached(rt, path.Join(rel, sharpnessFile), files[sharpnessFile], parseObject); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", sharpnessFile, err))
			if r.Kind == "checkpoint" {
				r.Status = "corrupt"
			}
		}
	}
	return r
}

// noteRows fills what the metrics rows tell: λ_max tracked, and the last row as the final
// metrics until a summary says otherwise.
func (r *Run) noteRows() {
	if len(r.rows) == 0 {
		return
	}
	for _, row := range r.rows {
		if _, ok := row["lambda_max"]; ok {
			r.LambdaMax = true
		}
	}
	last := r.rows[len(r.rows)-1]
	r.Final = map[string]*float64{}
	for _, k := range []string{"train_loss", "train_acc", "val_loss", "val_acc"} {
		if v, ok := last[k].(float64); ok {
			r.Final[k] = &v
		}
	}
	if v, ok := last["epoch"].(float64); ok {
		r.Epochs = v
	}
	if v, ok := last["step"].(float64); ok {
		r.Steps = int(v)
	}
	if v, ok := last["seconds"].(float64); ok {
		r.WallSeconds = v
	}
}

// listing returns the servable file names, the latest modification and a version that
// changes with any file.
func listing(files map[string]fileInfo) (names []string, mod time.Time, version string) {
	all := make([]string, 0, len(files))
	for name := range files {
		all = append(all, name)
	}
	sort.Strings(all)
	h := fnv.New64a()
	for _, name := range all {
		fi := files[name]
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", name, fi.size, fi.mod.UnixNano())
		if fi.mod.After(mod) {
			mod = fi.mod
		}
		if _, ok := servable[path.Ext(name)]; ok {
			names = append(names, name)
		}
	}
	if names == nil {
		names = []string{}
	}
	return names, mod, fmt.Sprintf("%016x", h.Sum64())
}

// cached parses file p of rt with parse, reusing the last result while the file's size and
// modification time stay the same.
func (s *scanner) cached(rt *root, p string, fi fileInfo, parse func([]byte) (any, error)) (any, error) {
	key := rt.name + "\x00" + p
	s.seen[key] = true
	if e, ok := s.cache[key]; ok && e.info == fi {
		return e.val, e.err
	}
	b, err := rt.read(p)
	var v any
	if err == nil {
		v, err = parse(b)
	}
	s.cache[key] = cacheEntry{fi, v, err}
	return v, err
}

// read reads file p of rt, refusing anything outside rt and files over maxFileSize.
func (rt *root) read(p string) ([]byte, error) {
	f, err := rt.fs.Open(p)
	if err != nil {
		return nil, cleanErr(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, cleanErr(err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("larger than %d MiB; not read", maxFileSize>>20)
	}
	return b, nil
}

// cleanErr drops the path from a file error: the message names the file already, and the
// server's own paths are no business of the page.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func cleanErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// metricsData is a parsed metrics.jsonl: the rows that parsed and a line per one that did not.
type metricsData struct {
	rows     []map[string]any
	problems []string
}

// parseMetrics reads JSON lines; a line that is not a JSON object (a half-written last line,
// a corrupt one) is skipped and reported.
func parseMetrics(b []byte) (any, error) {
	m := &metricsData{rows: []map[string]any{}}
	lines := bytes.Split(b, []byte("\n"))
	for i, line := range lines {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var row map[string]any
		if err := json.Unmarshal(line, &row); err != nil || row == nil {
			what := "corrupt"
			if i == len(lines)-1 {
				what = "half-written (no newline at the end)"
			}
			if err == nil {
				err = errors.New("not a JSON object")
			}
			m.problems = append(m.problems, fmt.Sprintf("%s line %d: %s, skipped: %v", metricsFile, i+1, what, err))
			continue
		}
		m.rows = append(m.rows, row)
	}
	return m, nil
}

// scores are the final metrics of summary.json and of a trial record.
type scores struct {
	TrainLoss *float64 `json:"train_loss"`
	TrainAcc  *float64 `json:"train_acc"`
	ValLoss   *float64 `json:"val_loss"`
	ValAcc    *float64 `json:"val_acc"`
	TestLoss  *float64 `json:"test_loss"`
	TestAcc   *float64 `json:"test_acc"`
}

func (s scores) final() map[string]*float64 {
	out := map[string]*float64{}
	for k, v := range map[string]*float64{"train_loss": s.TrainLoss, "train_acc": s.TrainAcc, "val_loss": s.ValLoss,
		"val_acc": s.ValAcc, "test_loss": s.TestLoss, "test_acc": s.TestAcc} {
		if v != nil {
			out[k] = v
		}
	}
	return out
}

// summary is the part of summary.json the page shows.
type summary struct {
	Config json.RawMessage `json:"config"`
	scores
	Steps       int     `json:"steps"`
	Epochs      float64 `json:"epochs"`
	WallSeconds float64 `json:"wall_seconds"`
	Stopped     string  `json:"stopped"`
	cols        *config
}

func (s *summary) afterParse() { s.cols = decodeConfig(s.Config) }

// parseAs decodes one JSON object into a new T.
// A type that decodes more from what it parsed (its config) says so with afterParse.
func parseAs[T any](b []byte) (any, error) {
	v := new(T)
	if err := strictObject(b, v); err != nil {
		return nil, err
	}
	if a, ok := any(v).(interface{ afterParse() }); ok {
		a.afterParse()
	}
	return v, nil
}

// parseObject checks that b is one JSON object and keeps it.
func parseObject(b []byte) (any, error) {
	var m map[string]json.RawMessage
	if err := strictObject(b, &m); err != nil {
		return nil, err
	}
	return json.RawMessage(b), nil
}

// strictObject decodes one JSON object; anything else (empty, truncated, an array) is corrupt.
func strictObject(b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return errors.New("corrupt: empty")
	}
	if t[0] != '{' {
		return errors.New("corrupt: not a JSON object")
	}
	if err := json.Unmarshal(t, v); err != nil {
		return fmt.Errorf("corrupt: %v", err)
	}
	return nil
}

// config is the part of a run's config (train.Config) that the runs table shows.
type config struct {
	Data  string `json:"data"`
	Model struct {
		Model  string `json:"model"`
		Hidden []int  `json:"hidden"`
		Width  int    `json:"width"`
		Blocks int    `json:"blocks"`
	} `json:"model"`
	Optimizer struct {
		Name string `json:"name"`
	} `json:"optimizer"`
	SAM struct {
		Rho      *float64 `json:"rho"`
		Adaptive bool     `json:"adaptive"`
		Variant  string   `json:"variant"`
	} `json:"sam"`
	LR   *float64 `json:"lr"`
	Seed *uint64  `json:"seed"`
}

// decodeConfig decodes a run's config for the columns once, when its file is parsed; nil when
// it does not parse.
func decodeConfig(raw json.RawMessage) *config {
	var c config
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return nil
	}
	return &c
}

// setConfig fills the config columns from c (nil leaves them empty) and keeps the raw config.
func (r *Run) setConfig(raw json.RawMessage, c *config) {
	r.cfgJSON = raw
	if c == nil {
		return
	}
	r.Data, r.Optimizer, r.Rho, r.LR, r.Seed = c.Data, c.Optimizer.Name, c.SAM.Rho, c.LR, c.Seed
	r.Model = c.modelName()
	r.Variant = c.variant()
}

func (c *config) modelName() string {
	m := c.Model.Model
	switch {
	case m == "mlp" && len(c.Model.Hidden) > 0:
		w := make([]string, len(c.Model.Hidden))
		for i, h := range c.Model.Hidden {
			w[i] = fmt.Sprint(h)
		}
		m += " " + strings.Join(w, ",")
	case m == "resnet":
		m += fmt.Sprintf(" w%d b%d", max(c.Model.Width, 1), max(c.Model.Blocks, 1))
	}
	return m
}

func (c *config) variant() string {
	if c.SAM.Rho != nil && *c.SAM.Rho == 0 {
		return "base"
	}
	v := c.SAM.Variant
	if v == "" {
		v = "sam"
	}
	if v == "sam" && c.SAM.Adaptive {
		v = "asam"
	}
	return v
}
