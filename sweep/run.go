package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

// Options say how to run a sweep.
type Options struct {
	Out     string // the sweep folder
	Workers int    // trials in parallel (0 = the number of CPUs)
	Threads int    // kernel threads per trial (0 = max(1, CPUs/Workers))
	// Shard and Shards select this process's share of the validation trials (Shards ≤ 1: all
	// of them). A sharded run stops after its share; Merge then finishes the sweep.
	Shard, Shards int
	Log           io.Writer // one line per finished trial; nil = silent
	// TrainFunc replaces train.Run (tests count calls with it); nil = train.Run.
	TrainFunc func(c *train.Config, d *train.Data, obs train.Observer) (*train.Result, error)
	// CheckpointEvery writes a trial's training state to D/trials/CheckpointName(id) every this
	// many steps (0: only when ctx ends); a rerun resumes it. Not with TrainFunc.
	CheckpointEvery int
	shared          bool // several workers: the trials share the process's threads (train.RunOptions.Shared)
}

// Record is the content of trials/<id>.json.
type Record struct {
	Trial
	Config *train.Config   `json:"config"`
	Epochs []train.Metrics `json:"epochs"`
	Final  Final           `json:"final"`
}

// Final holds a trial's final metrics (of the final weights, in evaluation mode).
type Final struct {
	TrainN int `json:"train_examples"`
	ValN   int `json:"val_examples"`
	TestN  int `json:"test_examples"`
	Steps  int `json:"steps"`
	train.Scores
	WallSeconds float64 `json:"wall_seconds"`
	Stopped     string  `json:"stopped,omitempty"`
}

// SpecFile and TrialsDir name the sweep's grid file and trial folder inside Options.Out.
const (
	SpecFile  = "sweep.json"
	TrialsDir = "trials"
)

// Run runs the validation trials of shard Options.Shard of Options.Shards that are not
// finished yet (a finished trial has its file in D/trials). Unsharded, it then finishes the
// sweep as Merge does and returns the results; sharded, it returns nil results. The grid is
// recorded in D/sweep.json; a folder that holds another grid is refused. When ctx is
// cancelled the trials in flight are abandoned and Run returns ctx's error.
func Run(ctx context.Context, s *Spec, o Options) (*Results, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.Shards > 1 && (o.Shard < 0 || o.Shard >= o.Shards) {
		return nil, fmt.Errorf("--shard: index %d out of range for %d shards", o.Shard, o.Shards)
	}
	p, err := s.load()
	if err != nil {
		return nil, err
	}
	if _, err := nn.Build(s.probeModel(p)); err != nil {
		return nil, err
	}
	if err := claim(o.Out, s); err != nil {
		return nil, err
	}
	all := s.Trials()
	mine := Shard(all, o.Shard, o.Shards)
	if err := runTrials(ctx, s, p, mine, o); err != nil {
		return nil, err
	}
	if o.Shards > 1 {
		return nil, nil
	}
	return finish(ctx, s, p, o)
}

// Merge finishes a (sharded) sweep in folder o.Out: it checks that every validation trial is
// there, retrains the best configuration and the baseline on train+validation (the final
// runs, skipped when already done), and writes results.csv, results.json, report.md and
// rho.png, exactly as an unsharded Run does.
func Merge(ctx context.Context, o Options) (*Results, error) {
	s, err := ReadSpec(o.Out)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(o.Out, SpecFile), err)
	}
	p, err := s.load()
	if err != nil {
		return nil, err
	}
	return finish(ctx, s, p, o)
}

// ReadSpec reads D/sweep.json.
func ReadSpec(dir string) (*Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s holds no sweep (no %s)", dir, SpecFile)
		}
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SpecFile), err)
	}
	return &s, nil
}

// probeModel is the model spec with the data's shape filled in, to check it builds.
func (s *Spec) probeModel(p *pool) nn.Spec {
	c := s.Config(Trial{Kind: "final", Rho: s.Rho[0], LR: s.LR[0], L2: s.L2[0], Seed: s.Base.Seed, Fold: -1})
	sp := c.Model
	sp.Input = p.train.Shape
	sp.Outputs = p.train.Classes + p.train.Outputs
	if sp.Loss == "bce" {
		sp.Outputs = 1
	}
	return sp
}

// claim records s in dir/sweep.json, or checks that the sweep.json there holds the same grid.
// Creation is race-free between shards starting together (link(2) refuses an existing name).
func claim(dir string, s *Spec) error {
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	js = append(js, '\n')
	if err := os.MkdirAll(filepath.Join(dir, TrialsDir), 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	path := filepath.Join(dir, SpecFile)
	tmp, err := os.CreateTemp(dir, "."+SpecFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	_, werr := tmp.Write(js)
	cerr := tmp.Close()
	defer os.Remove(tmp.Name())
	if werr != nil || cerr != nil {
		return fmt.Errorf("--out: write %s: %v", path, errors.Join(werr, cerr))
	}
	if err := os.Link(tmp.Name(), path); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("--out: %w", err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !bytes.Equal(old, js) {
		return fmt.Errorf("--out %s: holds a sweep with a different grid or training flags (%s); use another --out, or rerun with the same flags", dir, SpecFile)
	}
	return nil
}

// done lists the finished trials in dir/trials by id.
func done(dir string) (map[string]*Record, error) {
	ents, err := os.ReadDir(filepath.Join(dir, TrialsDir))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	out := map[string]*Record{}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, TrialsDir, name))
		if err != nil {
			return nil, err
		}
		if r := parseRecord(b, name); r != nil {
			out[r.ID] = r
		} // else not a trial file of ours: rerun the trial
	}
	return out, nil
}

// parseRecord reads the trial file named name; nil when it is not a trial record of that name.
func parseRecord(b []byte, name string) *Record {
	var r Record
	if json.Unmarshal(b, &r) != nil || r.ID+".json" != name {
		return nil
	}
	return &r
}

// abort is panicked from the step hook to abandon a trial when the context is cancelled.
type abort struct{}

// runTrials runs the unfinished trials of ts on a pool of workers.
func runTrials(ctx context.Context, s *Spec, p *pool, ts []Trial, o Options) error {
	have, err := done(o.Out)
	if err != nil {
		return err
	}
	var todo []Trial
	for _, t := range ts {
		if have[t.ID] == nil {
			todo = append(todo, t)
		}
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	workers = max(1, min(workers, len(todo)))
	threads := o.Threads
	if threads <= 0 {
		threads = max(1, runtime.NumCPU()/workers)
	}
	o.shared = workers > 1
	if o.Log != nil && len(ts) > 0 {
		shard := ""
		if o.Shards > 1 {
			shard = fmt.Sprintf(" (shard %d/%d)", o.Shard, o.Shards)
		}
		fmt.Fprintf(o.Log, "sweep: %d %s trials%s on %s, %d already done, %d to run; %d workers × %d threads\n",
			len(ts), map[string]string{"cv": "validation", "final": "final"}[ts[0].Kind], shard, p.name, len(ts)-len(todo), len(todo), workers, threads)
	}
	if len(todo) == 0 {
		return ctx.Err()
	}
	old := tensor.SetThreads(threads)
	defer tensor.SetThreads(old)

	jobs := make(chan Trial)
	var mu sync.Mutex
	var firstErr error
	finished := len(ts) - len(todo)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range jobs {
				rec, err := runOne(ctx, s, p, t, o)
				if err == nil {
					err = writeRecord(o.Out, rec)
				}
				mu.Lock()
				if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
					if firstErr == nil {
						firstErr = err
					}
				} else if err == nil {
					finished++
					if o.Log != nil {
						fmt.Fprintf(o.Log, "sweep: [%d/%d] %s\n", finished, len(ts), rec.line())
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range todo {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case jobs <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// runOne trains trial t; a cancelled ctx abandons it (checkpointed, without o.TrainFunc).
func runOne(ctx context.Context, s *Spec, p *pool, t Trial, o Options) (rec *Record, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := s.Config(t)
	d, err := p.trialData(s, t, c)
	if err != nil {
		return nil, err
	}
	rec = &Record{Trial: t, Config: c}
	obs := train.Observer{
		Step: func(int, float64) {
			if ctx.Err() != nil {
				panic(abort{})
			}
		},
		Epoch: func(m train.Metrics) { rec.Epochs = append(rec.Epochs, m) },
	}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(abort); !ok {
				panic(r)
			}
			rec, err = nil, ctx.Err()
		}
	}()
	var res *train.Result
	if o.TrainFunc != nil {
		res, err = o.TrainFunc(c, d, obs)
	} else { // checkpointed: a cancelled ctx stops the trial at its next step (resume.go)
		obs.Step = nil
		res, err = runCheckpointed(ctx, o, t, c, d, obs)
	}
	if res == nil {
		return nil, fmt.Errorf("trial %s (ρ %g, lr %g, l2 %g, seed %d): %w", t.ID, t.Rho, t.LR, t.L2, t.Seed, err)
	}
	// A diverged run (err wraps train.ErrDiverged) is a finished trial with Stopped set.
	sm := res.Summary
	rec.Final = Final{TrainN: sm.TrainN, ValN: sm.ValN, TestN: sm.TestN, Steps: sm.Steps,
		Scores: sm.Scores, WallSeconds: sm.WallSeconds, Stopped: sm.Stopped}
	return rec, nil
}

func writeRecord(dir string, r *Record) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("trial %s: %w", r.ID, err)
	}
	return atomic.WriteBytes(filepath.Join(dir, TrialsDir, r.ID+".json"), append(js, '\n'))
}

func (r *Record) line() string {
	fold := ""
	if r.Fold >= 0 {
		fold = fmt.Sprintf(" fold %d", r.Fold)
	}
	s := fmt.Sprintf("%s ρ=%g lr=%g l2=%g seed %d%s:", r.Kind, r.Rho, r.LR, r.L2, r.Seed, fold)
	f := r.Final
	switch {
	case r.Kind == "final" && f.TestAcc != nil:
		s += fmt.Sprintf(" test acc %.2f%%", 100**f.TestAcc)
	case r.Kind == "final" && f.TestLoss != nil:
		s += fmt.Sprintf(" test loss %.4g", *f.TestLoss)
	case f.ValAcc != nil:
		s += fmt.Sprintf(" val acc %.2f%%", 100**f.ValAcc)
	case f.ValLoss != nil:
		s += fmt.Sprintf(" val loss %.4g", *f.ValLoss)
	}
	if f.Stopped != "" {
		s += " (diverged)"
	}
	return s + fmt.Sprintf(" (%.1fs)", f.WallSeconds)
}

// keys returns the grid's configurations in canonical order.
func (s *Spec) keys() []Key {
	var out []Key
	for _, rho := range s.Rho {
		for _, lr := range s.LR {
			for _, l2 := range s.L2 {
				out = append(out, Key{rho, lr, l2})
			}
		}
	}
	return out
}
