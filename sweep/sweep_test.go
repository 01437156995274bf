package sweep

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/train"
)

// tiny is a small, fast sweep on iris: 3 ρ × 2 seeds × 3 folds = 18 trials.
func tiny() *Spec {
	return &Spec{
		Base: train.Config{Data: "iris", Task: "classification",
			Model:     nn.Spec{Model: "mlp", Hidden: []int{8}, Activation: "relu", Loss: "ce"},
			Init:      "default",
			Optimizer: optim.Config{Name: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8},
			LR:        0.01, Schedule: optim.Schedule{Kind: "constant"},
			BatchSize: 16, Epochs: 3, Seed: 1, TestFraction: 0.2, Standardize: true},
		Rho: []float64{0, 0.05, 0.1}, LR: []float64{0.01}, L2: []float64{0},
		Seeds: 2, Folds: 3,
	}
}

// counter wraps train.Run, counting calls per trial seed/config.
type counter struct{ n atomic.Int64 }

func (c *counter) fn(cfg *train.Config, d *train.Data, obs train.Observer) (*train.Result, error) {
	c.n.Add(1)
	return train.Run(cfg, d, "", "", obs)
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []float64
		err  string
	}{
		{"0,0.05, 0.1", []float64{0, 0.05, 0.1}, ""},
		{"", nil, "empty list"},
		{" ", nil, "empty list"},
		{"0,,1", nil, "empty entry"},
		{"-0.1", nil, "must be ≥ 0"},
		{"nan", nil, "not a finite number"},
		{"inf", nil, "not a finite number"},
		{"x", nil, "not a finite number"},
		{"0.1,0.1", nil, "listed twice"},
	} {
		got, err := ParseList("rho", tc.in, 0, false)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "--rho") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: error %v, want one line with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("%q: %v %v", tc.in, got, err)
		}
	}
	if _, err := ParseList("lr", "0", 0, true); err == nil || !strings.Contains(err.Error(), "> 0") {
		t.Errorf("lr 0: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		err  string
	}{
		{"ok", func(*Spec) {}, ""},
		{"empty rho", func(s *Spec) { s.Rho = nil }, "--rho"},
		{"negative rho", func(s *Spec) { s.Rho = []float64{0, -0.1} }, "--rho"},
		{"zero lr", func(s *Spec) { s.LR = []float64{0} }, "--lr"},
		{"negative l2", func(s *Spec) { s.L2 = []float64{-1} }, "--l2"},
		{"no seeds", func(s *Spec) { s.Seeds = 0 }, "--seeds"},
		{"too many seeds", func(s *Spec) { s.Seeds = 1 << 40 }, "--seeds"},
		{"one fold", func(s *Spec) { s.Folds = 1 }, "--folds"},
		{"folds and val", func(s *Spec) { s.ValFraction = 0.1 }, "--folds and --val-fraction"},
		{"no validation", func(s *Spec) { s.Folds = 0 }, "--val-fraction"},
	} {
		s := tiny()
		tc.edit(s)
		err := s.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && (!strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n"))) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.err)
		}
	}
	// More folds than examples is found when the data is loaded.
	s := tiny()
	s.Folds = 500
	_, err := Run(context.Background(), s, Options{Out: t.TempDir()})
	if err == nil || !strings.HasPrefix(err.Error(), "--folds") {
		t.Errorf("500 folds of iris: %v", err)
	}
}

func TestIDs(t *testing.T) {
	a, b := tiny().Trials(), tiny().Trials()
	if len(a) != 3*2*3 {
		t.Fatalf("%d trials, want 18", len(a))
	}
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for i := range a {
		if a[i].ID != b[i].ID || !hex16.MatchString(a[i].ID) {
			t.Fatalf("id %q vs %q", a[i].ID, b[i].ID)
		}
		if seen[a[i].ID] {
			t.Fatalf("duplicate id %s", a[i].ID)
		}
		seen[a[i].ID] = true
	}
	// The id follows the config: another epoch count changes every id, another grid keeps the
	// ids of the trials it shares.
	s := tiny()
	s.Base.Epochs = 4
	for i, tr := range s.Trials() {
		if tr.ID == a[i].ID {
			t.Fatalf("epochs changed but id %s did not", tr.ID)
		}
	}
	s = tiny()
	s.Rho = []float64{0.1}
	if got := s.Trials()[0].ID; got != a[12].ID {
		t.Errorf("ρ 0.1 seed 1 fold 0: id %s in a smaller grid, %s in the full one", got, a[12].ID)
	}
}

func TestResolveShard(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flag   string
		shards int
		env    map[string]string
		i, n   int
		err    string
	}{
		{"none", "", 0, nil, 0, 1, ""},
		{"flag", "1/3", 0, nil, 1, 3, ""},
		{"flag wins", "2/3", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "5"}, 2, 3, ""},
		{"slurm", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "5"}, 4, 5, ""},
		{"slurm offset", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "11", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "10"}, 1, 3, ""},
		{"k8s", "", 4, map[string]string{"JOB_COMPLETION_INDEX": "3"}, 3, 4, ""},
		{"k8s no shards", "", 0, map[string]string{"JOB_COMPLETION_INDEX": "3"}, 0, 0, "--shards"},
		{"k8s out of range", "", 3, map[string]string{"JOB_COMPLETION_INDEX": "3"}, 0, 0, "out of range"},
		{"shards alone", "", 3, nil, 0, 0, "--shards 3"},
		{"bad flag", "1-3", 0, nil, 0, 0, "--shard"},
		{"flag out of range", "3/3", 0, nil, 0, 0, "out of range"},
		{"zero shards", "0/0", 0, nil, 0, 0, "≥ 1"},
		{"disagree", "1/3", 4, nil, 0, 0, "disagrees"},
		{"bad slurm", "", 0, map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, 0, 0, "SLURM_ARRAY_TASK_ID"},
	} {
		i, n, err := ResolveShard(tc.flag, tc.shards, func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || i != tc.i || n != tc.n {
			t.Errorf("%s: %d/%d %v, want %d/%d", tc.name, i, n, err, tc.i, tc.n)
		}
	}
}

func trialFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, TrialsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestResumeAndGridChange: a rerun trains nothing, and another grid in the folder is refused.
func TestResumeAndGridChange(t *testing.T) {
	dir := t.TempDir()
	var c counter
	r, err := Run(context.Background(), tiny(), Options{Out: dir, Workers: 2, TrainFunc: c.fn})
	if err != nil {
		t.Fatal(err)
	}
	finals := 2 // best and baseline × 2 seeds, fewer when the best is the baseline
	if r.Best.Rho != 0 {
		finals = 4
	}
	if got := int(c.n.Load()); got != 18+finals {
		t.Fatalf("%d trainings, want %d", got, 18+finals)
	}
	if got := len(trialFiles(t, dir)); got != 18+finals {
		t.Fatalf("%d trial files, want %d", got, 18+finals)
	}
	for _, f := range []string{"sweep.json", "results.csv", "results.json", "report.md", "rho.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	first, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	c.n.Store(0)
	if _, err := Run(context.Background(), tiny(), Options{Out: dir, Workers: 2, TrainFunc: c.fn}); err != nil {
		t.Fatal(err)
	}
	if c.n.Load() != 0 {
		t.Errorf("rerun trained %d trials, want 0", c.n.Load())
	}
	again, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	if !bytes.Equal(first, again) {
		t.Error("rerun changed results.json")
	}
	s := tiny()
	s.Rho = []float64{0, 0.2}
	_, err = Run(context.Background(), s, Options{Out: dir, TrainFunc: c.fn})
	if err == nil || !strings.HasPrefix(err.Error(), "--out") || strings.Contains(err.Error(), "\n") {
		t.Errorf("changed grid: %v", err)
	}
	if c.n.Load() != 0 {
		t.Error("a changed grid trained")
	}
}

// TestCancelResume: cancelling mid-sweep loses only the trials in flight; the rerun runs
// exactly the missing ones and gives the same results as an uninterrupted sweep.
func TestCancelResume(t *testing.T) {
	ref := t.TempDir()
	want, err := Run(context.Background(), tiny(), Options{Out: ref, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	cancelling := func(cfg *train.Config, d *train.Data, obs train.Observer) (*train.Result, error) {
		if calls.Add(1) == 5 {
			cancel() // this trial and any other in flight are abandoned at their next step
		}
		return train.Run(cfg, d, "", "", obs)
	}
	_, err = Run(ctx, tiny(), Options{Out: dir, Workers: 2, TrainFunc: cancelling})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sweep: %v", err)
	}
	part := len(trialFiles(t, dir))
	if part < 3 || part > 4 {
		t.Fatalf("%d trials finished before the cancel, want 3 or 4", part)
	}
	var c counter
	got, err := Run(context.Background(), tiny(), Options{Out: dir, Workers: 2, TrainFunc: c.fn})
	if err != nil {
		t.Fatal(err)
	}
	total := len(trialFiles(t, ref))
	if int(c.n.Load()) != total-part || len(trialFiles(t, dir)) != total {
		t.Errorf("rerun trained %d, files %d; want %d and %d", c.n.Load(), len(trialFiles(t, dir)), total-part, total)
	}
	a, _ := os.ReadFile(filepath.Join(ref, "results.json"))
	b, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	if !bytes.Equal(a, b) || want.Best.Key() != got.Best.Key() {
		t.Error("resumed sweep differs from an uninterrupted one")
	}
}

// TestShardsMerge: three shards then merge write the same files as one unsharded run.
func TestShardsMerge(t *testing.T) {
	s := tiny()
	s.Folds, s.ValFraction = 0, 0.25 // the validation-split mode
	one := t.TempDir()
	if _, err := Run(context.Background(), s, Options{Out: one, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	sh := t.TempDir()
	for i := range 3 {
		r, err := Run(context.Background(), s, Options{Out: sh, Workers: 1, Shard: i, Shards: 3})
		if err != nil || r != nil {
			t.Fatalf("shard %d: %v %v", i, r, err)
		}
		if i == 0 {
			if _, err := Merge(context.Background(), Options{Out: sh}); err == nil || !strings.Contains(err.Error(), "not finished") {
				t.Errorf("merge after one shard: %v", err)
			}
		}
	}
	if _, err := Merge(context.Background(), Options{Out: sh, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"results.json", "results.csv", "report.md", "sweep.json"} {
		a, _ := os.ReadFile(filepath.Join(one, f))
		b, _ := os.ReadFile(filepath.Join(sh, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the unsharded and the sharded sweep", f)
		}
	}
}

// TestRegression: a regression sweep selects by validation loss.
func TestRegression(t *testing.T) {
	dir := t.TempDir()
	csv := "a,b,y\n"
	for i := range 40 {
		x1, x2 := float64(i%7), float64(i%5)
		csv += strings.Join([]string{ftoa(x1), ftoa(x2), ftoa(2*x1 - x2 + 0.1*float64(i%3))}, ",") + "\n"
	}
	path := filepath.Join(dir, "lin.csv")
	os.WriteFile(path, []byte(csv), 0o644)
	s := tiny()
	s.Base.Data, s.Base.Task = "csv:"+path, "regression"
	s.Base.Model = nn.Spec{Model: "linear", Loss: "mse"}
	s.Base.Optimizer, s.Base.LR, s.Base.Epochs = optim.Config{Name: "sgd"}, 0.05, 5
	s.Seeds = 1
	r, err := Run(context.Background(), s, Options{Out: filepath.Join(dir, "out")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Metric != "val_loss" || r.Best.ValLossMean == nil || r.Test.Best.TestLossMean == nil {
		t.Fatalf("%+v", r)
	}
	for _, p := range r.Grid {
		if p.ValLossMean != nil && *p.ValLossMean < *r.Best.ValLossMean {
			t.Errorf("ρ %g has a lower validation loss than the best", p.Rho)
		}
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestBetterTies(t *testing.T) {
	v := func(x float64) *float64 { return &x }
	a := Point{Rho: 0, ValAccMean: v(0.9822695035460992)}
	b := Point{Rho: 0.2, ValAccMean: v(0.9822695035460994)} // the same accuracies, summed in another order
	if better(true, b, a) || better(true, a, b) {
		t.Error("a rounding difference broke a tie")
	}
	c := Point{Rho: 0.1, ValAccMean: v(0.99)}
	if !better(true, c, a) || better(true, a, c) {
		t.Error("a real difference was missed")
	}
	l1, l2 := Point{ValLossMean: v(0.5)}, Point{ValLossMean: v(0.4)}
	if !better(false, l2, l1) || better(false, l1, l2) {
		t.Error("regression: lower loss must win")
	}
	if !better(false, l1, Point{}) {
		t.Error("a finite loss must beat a diverged one")
	}
}
