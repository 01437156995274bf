package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/samgo/sam"
	"github.com/samgo/sam/train"
)

// Spec is a sweep: a base training config and the grid around it. It is stored as sweep.json.
type Spec struct {
	// Base is the training config shared by every trial; its SAM.Rho, LR, SAM.L2 and Seed are
	// replaced per trial (Seed by BaseSeed+s for s < Seeds). Base.Seed also seeds the test
	// split, the folds and the label noise, which all trials share.
	Base train.Config `json:"base"`
	Rho  []float64    `json:"rho"`
	LR   []float64    `json:"lr"`
	L2   []float64    `json:"l2"`
	// Seeds is the number of seeds per configuration.
	Seeds int `json:"seeds"`
	// Folds ≥ 2 selects k-fold cross-validation of the training pool; 0 uses one validation
	// split of ValFraction of the pool.
	Folds       int     `json:"folds,omitempty"`
	ValFraction float64 `json:"val_fraction,omitempty"`
}

// ParseList parses a comma-separated list of numbers for flag (used in messages). Values must
// be finite, ≥ min (> min when strict) and distinct.
func ParseList(flag, s string, min float64, strict bool) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("--%s: empty list", flag)
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("--%s: empty entry in %q", flag, s)
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("--%s: %q is not a finite number", flag, f)
		}
		if v < min || (strict && v == min) {
			cmp := "≥"
			if strict {
				cmp = ">"
			}
			return nil, fmt.Errorf("--%s: %s must be %s %g", flag, f, cmp, min)
		}
		for _, u := range out {
			if u == v {
				return nil, fmt.Errorf("--%s: %s is listed twice", flag, f)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// maxSeeds bounds --seeds (and a sweep.json's seeds), which sizes the list of trials.
const maxSeeds = 10000

// Validate checks the grid (not the data: see Check for the fold count).
func (s *Spec) Validate() error {
	check := func(flag string, vs []float64, min float64, strict bool) error {
		if len(vs) == 0 {
			return fmt.Errorf("--%s: empty list", flag)
		}
		seen := map[float64]bool{}
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < min || (strict && v == min) {
				return fmt.Errorf("--%s: %g is out of range", flag, v)
			}
			if seen[v] {
				return fmt.Errorf("--%s: %g is listed twice", flag, v)
			}
			seen[v] = true
		}
		return nil
	}
	if err := check("rho", s.Rho, 0, false); err != nil {
		return err
	}
	if err := check("lr", s.LR, 0, true); err != nil {
		return err
	}
	if err := check("l2", s.L2, 0, false); err != nil {
		return err
	}
	if s.Seeds < 1 || s.Seeds > maxSeeds {
		return fmt.Errorf("--seeds: must be in 1..%d, got %d", maxSeeds, s.Seeds)
	}
	switch {
	case s.Folds == 1 || s.Folds < 0:
		return fmt.Errorf("--folds: must be ≥ 2, got %d", s.Folds)
	case s.Folds >= 2 && s.ValFraction != 0:
		return errors.New("--folds and --val-fraction: give one of them")
	case s.Folds == 0 && !(s.ValFraction > 0 && s.ValFraction < 1):
		return fmt.Errorf("--val-fraction: a sweep needs a validation set: give --folds k or --val-fraction in (0,1), got %g", s.ValFraction)
	}
	if math.IsInf(s.Base.SAM.P, 0) {
		return errors.New("--p: inf cannot be recorded in a sweep's JSON files; use a large finite p")
	}
	return s.Base.Validate()
}

// Trial is one point of the grid: a configuration, a seed and a fold.
type Trial struct {
	ID   string  `json:"id"`
	Kind string  `json:"kind"` // "cv" (validation) or "final" (retrained on train+validation, tested)
	Rho  float64 `json:"rho"`
	LR   float64 `json:"lr"`
	L2   float64 `json:"l2"`
	Seed uint64  `json:"seed"`
	Fold int     `json:"fold"` // fold index with --folds; -1 for a validation split or a final run
}

// Key is a configuration of the grid: what the seeds and folds are averaged over.
type Key struct {
	Rho float64 `json:"rho"`
	LR  float64 `json:"lr"`
	L2  float64 `json:"l2"`
}

// Key returns the trial's configuration.
func (t Trial) Key() Key { return Key{t.Rho, t.LR, t.L2} }

// Config returns the training config of trial t (a fresh copy of the base).
func (s *Spec) Config(t Trial) *train.Config {
	c := s.Base
	c.Model.Hidden = append([]int(nil), s.Base.Model.Hidden...)
	c.Model.Input = nil
	c.Model.Outputs = 0
	c.SAM.Rho, c.LR, c.SAM.L2, c.Seed = t.Rho, t.LR, t.L2, t.Seed
	if m, ok := sam.Lookup(c.SAM.Variant); ok {
		for _, p := range m.Params { // a setting that follows ρ, and was not given, takes the trial's
			if _, given := c.SAM.Params[p.Name]; p.FollowsRho && !given {
				c.SAM = c.SAM.With(p.Name, t.Rho)
			}
		}
		if m.Seeded {
			c.SAM.Seed = t.Seed
		}
	}
	if t.Kind == "final" {
		c.ValFraction = 0
	}
	return &c
}

// id derives a trial's id from its canonical config JSON.
func (s *Spec) id(t Trial) string {
	key := struct {
		Kind   string        `json:"kind"`
		Config *train.Config `json:"config"`
		Fold   int           `json:"fold"`
		Folds  int           `json:"folds"`
	}{t.Kind, s.Config(t), t.Fold, s.Folds}
	js, err := json.Marshal(key)
	if err != nil { // Validate refuses what JSON cannot hold
		panic(err)
	}
	h := sha256.Sum256(js)
	return hex.EncodeToString(h[:])[:16]
}

// seeds returns the seeds of the sweep: Base.Seed, Base.Seed+1, ...
func (s *Spec) seeds() []uint64 {
	out := make([]uint64, s.Seeds)
	for i := range out {
		out[i] = s.Base.Seed + uint64(i)
	}
	return out
}

// Trials lists the validation trials in canonical order: ρ, lr, L2, seed, fold.
func (s *Spec) Trials() []Trial {
	folds := []int{-1}
	if s.Folds >= 2 {
		folds = folds[:0]
		for f := range s.Folds {
			folds = append(folds, f)
		}
	}
	var out []Trial
	for _, rho := range s.Rho {
		for _, lr := range s.LR {
			for _, l2 := range s.L2 {
				for _, seed := range s.seeds() {
					for _, f := range folds {
						t := Trial{Kind: "cv", Rho: rho, LR: lr, L2: l2, Seed: seed, Fold: f}
						t.ID = s.id(t)
						out = append(out, t)
					}
				}
			}
		}
	}
	return out
}

// Finals lists the retraining runs of configuration k on train+validation, one per seed.
func (s *Spec) Finals(k Key) []Trial {
	var out []Trial
	for _, seed := range s.seeds() {
		t := Trial{Kind: "final", Rho: k.Rho, LR: k.LR, L2: k.L2, Seed: seed, Fold: -1}
		t.ID = s.id(t)
		out = append(out, t)
	}
	return out
}

// Shard returns the trials of shard i of n: every n-th trial starting at i.
func Shard(ts []Trial, i, n int) []Trial {
	if n <= 1 {
		return ts
	}
	var out []Trial
	for j, t := range ts {
		if j%n == i {
			out = append(out, t)
		}
	}
	return out
}

// ResolveShard decides which shard this process runs: flag ("i/n", from --shard) first, then
// a Slurm job array (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT),
// then a Kubernetes Indexed Job (JOB_COMPLETION_INDEX of shards, from --shards). Without any
// of them the whole grid is one shard (0, 1). getenv is os.Getenv when nil.
func ResolveShard(flag string, shards int, getenv func(string) string) (i, n int, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if shards < 0 {
		return 0, 0, fmt.Errorf("--shards: must be ≥ 1, got %d", shards)
	}
	atoi := func(name, v string) (int, error) {
		x, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || x < 0 {
			return 0, fmt.Errorf("%s: want an integer ≥ 0, got %q", name, v)
		}
		return x, nil
	}
	switch {
	case flag != "":
		a, b, ok := strings.Cut(flag, "/")
		if !ok {
			return 0, 0, fmt.Errorf("--shard: want i/n such as 0/3, got %q", flag)
		}
		if i, err = atoi("--shard", a); err != nil {
			return 0, 0, err
		}
		if n, err = atoi("--shard", b); err != nil {
			return 0, 0, err
		}
	case getenv("SLURM_ARRAY_TASK_ID") != "" && getenv("SLURM_ARRAY_TASK_COUNT") != "":
		id, err := atoi("SLURM_ARRAY_TASK_ID", getenv("SLURM_ARRAY_TASK_ID"))
		if err != nil {
			return 0, 0, err
		}
		if n, err = atoi("SLURM_ARRAY_TASK_COUNT", getenv("SLURM_ARRAY_TASK_COUNT")); err != nil {
			return 0, 0, err
		}
		lo := 0
		if v := getenv("SLURM_ARRAY_TASK_MIN"); v != "" {
			if lo, err = atoi("SLURM_ARRAY_TASK_MIN", v); err != nil {
				return 0, 0, err
			}
		}
		i = id - lo
	case getenv("JOB_COMPLETION_INDEX") != "":
		if shards == 0 {
			return 0, 0, errors.New("--shards: JOB_COMPLETION_INDEX is set (Kubernetes Indexed Job): give --shards n, the Job's completions")
		}
		if i, err = atoi("JOB_COMPLETION_INDEX", getenv("JOB_COMPLETION_INDEX")); err != nil {
			return 0, 0, err
		}
		n = shards
	case shards > 0:
		if shards == 1 {
			return 0, 1, nil
		}
		return 0, 0, fmt.Errorf("--shards %d: which shard is this? give --shard i/%d, or run as a Slurm array task or a Kubernetes Indexed Job", shards, shards)
	default:
		return 0, 1, nil
	}
	if n < 1 {
		return 0, 0, fmt.Errorf("--shard: the number of shards must be ≥ 1, got %d", n)
	}
	if shards > 0 && shards != n {
		return 0, 0, fmt.Errorf("--shards %d: disagrees with %d shards from --shard or SLURM_ARRAY_TASK_COUNT", shards, n)
	}
	if i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard: index %d out of range for %d shards (want 0..%d)", i, n, n-1)
	}
	return i, n, nil
}
