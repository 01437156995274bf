package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/safetensors"
)

// resumeConfigs are small runs that draw from every random stream and keep optimizer state:
// an MLP with dropout around Adam, a BatchNorm ResNet with augmentation around SGD with
// momentum, LookSAM and ESAM (γ < 1, its mask stream and data selection).
func resumeConfigs() map[string]*Config {
	mlp := func() *Config {
		return &Config{Data: "digits", Task: "classification", Init: "default",
			Model:     nn.Spec{Model: "mlp", Hidden: []int{16}, Activation: "relu", Loss: "ce", Dropout: 0.2},
			Optimizer: optim.Config{Name: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}, SAM: sam.Config{Rho: 0.05, P: 2},
			LR: 0.003, Schedule: optim.Schedule{Kind: "cosine"}, BatchSize: 32, Epochs: 3, Seed: 5, TrainSize: 200,
			ValFraction: 0.2, TestFraction: 0.2, Standardize: true}
	}
	res := mlp()
	res.Model = nn.Spec{Model: "resnet", Width: 1, Blocks: 1, Loss: "ce"}
	res.Optimizer = optim.Config{Name: "sgd", Momentum: 0.9}
	res.LR, res.Epochs, res.TrainSize = 0.05, 3, 128
	res.Images.Augment = Augment{Crop: true, Pad: 1, Flip: true}
	look := mlp()
	look.SAM = sam.Config{Rho: 0.05, P: 2, Variant: "looksam", Params: map[string]float64{"looksam-k": 3, "looksam-alpha": 0.7}}
	esam := mlp()
	esam.SAM = sam.Config{Rho: 0.05, P: 2, Variant: "esam", Params: map[string]float64{"esam-beta": 0.6, "esam-gamma": 0.5}, Seed: 5}
	return map[string]*Config{"mlp": mlp(), "resnet": res, "looksam": look, "esam": esam}
}

// runTo trains c in out; stopAt > 0 cancels the context after that step, kill > 0 abandons
// the run (no checkpoint, as SIGKILL would) after that step.
func runTo(t *testing.T, c *Config, out string, every, stopAt, kill int, resume bool) (*Result, error) {
	t.Helper()
	cc := *c
	d, err := Prepare(&cc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	o := RunOptions{Out: out, CheckpointEvery: every}
	if resume {
		if o.Resume, err = LoadTrainState(out); err != nil {
			t.Fatal(err)
		}
	}
	o.Observer.Step = func(step int, _ float64) {
		if step == stopAt {
			cancel(errors.New("test stop"))
		}
		if step == kill {
			panic(errKilled)
		}
	}
	defer func() {
		if r := recover(); r != nil && r != errKilled {
			panic(r)
		}
	}()
	return RunWith(ctx, &cc, d, o)
}

var errKilled = errors.New("killed")

// TestResumeBitIdentical: a run stopped by its context (checkpoint written then) or abandoned
// between periodic checkpoints, and resumed, ends with the weights, buffers, metrics and
// summary of the uninterrupted run, bit for bit.
func TestResumeBitIdentical(t *testing.T) {
	for name, c := range resumeConfigs() {
		t.Run(name, func(t *testing.T) {
			ref := t.TempDir()
			want, err := runTo(t, c, ref, 0, 0, 0, false)
			if err != nil {
				t.Fatal(err)
			}
			total := want.Summary.Steps
			out := t.TempDir()
			// Stopped mid-epoch 1, then killed between checkpoints, then stopped right at an
			// epoch end, then run to the end.
			if _, err := runTo(t, c, out, 0, 3, 0, false); !errors.Is(err, ErrStopped) || !strings.Contains(err.Error(), "test stop") {
				t.Fatalf("stop: %v", err)
			}
			if _, err := runTo(t, c, out, 4, 0, total/2+1, true); err != nil {
				t.Fatalf("kill: %v", err)
			}
			s, err := LoadTrainState(out)
			if err != nil {
				t.Fatal(err)
			}
			if last := max(3, total/2/4*4); s.Step != last {
				t.Fatalf("after the kill at %d: checkpoint of step %d, want %d", total/2+1, s.Step, last)
			}
			if _, err := runTo(t, c, out, 0, total/3*2, 0, true); !errors.Is(err, ErrStopped) {
				t.Fatalf("second stop: %v", err)
			}
			got, err := runTo(t, c, out, 0, 0, 0, true)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Weights, want.Weights) {
				t.Fatal("resumed weights differ from the uninterrupted run's")
			}
			for i, b := range want.Model.Buffers() {
				if !reflect.DeepEqual(b.Data, got.Model.Buffers()[i].Data) {
					t.Fatalf("buffer %s differs", b.Name)
				}
			}
			for _, f := range []string{"metrics.jsonl", "summary.json"} {
				a, b := readNoSeconds(t, filepath.Join(ref, f)), readNoSeconds(t, filepath.Join(out, f))
				if a != b {
					t.Fatalf("%s differs:\n%s\n%s", f, a, b)
				}
			}
			if _, err := os.Stat(filepath.Join(out, CheckpointFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the finished run's checkpoint is still there (%v)", err)
			}
			t.Logf("%s: %d steps, stopped at 3 and %d, killed at %d, resumed: identical", name, total, total/3*2, total/2+1)
		})
	}
}

// readNoSeconds reads a JSON output with its wall-clock fields blanked.
func readNoSeconds(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return wallClock.ReplaceAllString(string(b), "${1}0")
}

var wallClock = regexp.MustCompile(`("(?:wall_)?seconds": ?)[-0-9.e+]+`)

// TestResumeRefusesOtherRuns: another config, other data or a corrupt file are one-line errors.
func TestResumeRefusesOtherRuns(t *testing.T) {
	c := resumeConfigs()["mlp"]
	out := t.TempDir()
	if _, err := runTo(t, c, out, 0, 2, 0, false); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	s, err := LoadTrainState(out)
	if err != nil {
		t.Fatal(err)
	}
	other := *c
	other.LR = 0.01
	d, err := Prepare(&other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunWith(context.Background(), &other, d, RunOptions{Out: t.TempDir(), Resume: s})
	if err == nil || !strings.Contains(err.Error(), "lr is 0.01 here, 0.003 in the checkpoint") {
		t.Fatalf("other lr: %v", err)
	}
	cc := *c
	d, _ = Prepare(&cc)
	d.Train.X[0]++
	if _, err = RunWith(context.Background(), &cc, d, RunOptions{Resume: s}); err == nil || !strings.Contains(err.Error(), "data differ") {
		t.Fatalf("other data: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(out, CheckpointFile))
	for _, bad := range [][]byte{b[:len(b)/2], b[:100], nil} {
		if _, err := DecodeTrainState(bad); err == nil || strings.Contains(err.Error(), "\n") {
			t.Fatalf("truncated to %d bytes: %v", len(bad), err)
		}
	}
	if _, err := LoadTrainState(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Fatalf("missing: %v", err)
	}
	look := &Config{SAM: sam.Config{Variant: "looksam", Params: map[string]float64{"looksam-k": 3}}}
	look5 := &Config{SAM: sam.Config{Variant: "looksam", Params: map[string]float64{"looksam-k": 5}}}
	if d := ConfigDiff(look, look5); !strings.Contains(d, `"looksam_k":3`) || !strings.HasPrefix(d, "sam is ") {
		t.Fatalf("member setting: %q", d)
	}
	if d := ConfigDiff(&Config{SAM: sam.Config{P: math.Inf(1)}}, &Config{SAM: sam.Config{P: 2}}); d != "sam.p is +Inf here, 2 in the checkpoint" {
		t.Fatalf("p: %q", d)
	}
	if d := ConfigDiff(c, c); d != "" {
		t.Fatalf("a config differs from itself: %s", d)
	}
	if d := ConfigDiff(&Config{Model: nn.Spec{Hidden: []int{8}}}, &Config{Model: nn.Spec{Hidden: []int{9}}}); d != "model.hidden is [8] here, [9] in the checkpoint" {
		t.Fatal(d)
	}
}

// FuzzTrainState: no checkpoint bytes make decoding, or resuming from what decodes, panic.
func FuzzTrainState(f *testing.F) {
	c := &Config{Data: "iris", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{3}, Activation: "relu", Loss: "ce", Dropout: 0.1},
		Optimizer: optim.Config{Name: "sgd", Momentum: 0.9}, SAM: sam.Config{Rho: 0.05, P: 2},
		LR: 0.1, Schedule: optim.Schedule{Kind: "constant"}, BatchSize: 50, Epochs: 2, Seed: 1,
		ValFraction: 0.1, TestFraction: 0.2, Standardize: true}
	out := f.TempDir()
	d, err := Prepare(c)
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := RunOptions{Out: out, Observer: Observer{Step: func(int, float64) { cancel() }}}
	if _, err := RunWith(ctx, c, d, o); !errors.Is(err, ErrStopped) {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, CheckpointFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	done, stop := context.WithCancel(context.Background())
	stop()
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeTrainState(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		cc := *c
		RunWith(done, &cc, d, RunOptions{Resume: s}) // an error or a stop, never a panic
	})
}

// TestRankStateEncoding: a rank's own state survives its encoding (what a rank sends to rank 0)
// and a checkpoint that holds other ranks' states survives the file, vectors equal to rank 0's
// stored once; one process refuses to resume a checkpoint of two ranks.
func TestRankStateEncoding(t *testing.T) {
	rs := RankState{RNG: map[string][]byte{"dropout": {1, 2, 3}, "shuffle": {4}}, EpochCorrect: 17,
		Opt:     optim.State{Vectors: map[string][]float32{"base.m": {1, -2, 3.5}}, Numbers: map[string]float64{"step": 9}, Words: map[string]uint64{"seed": 1 << 60}},
		Buffers: map[string][]float32{"bn1.running_mean": {0.25, 0.5}, "bn1.running_var": {2, 3}}}
	b, err := encodeRank(rs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeRank(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rs) {
		t.Fatalf("rank state after encoding:\n%+v\nwant\n%+v", back, rs)
	}
	if _, err := decodeRank(b[:len(b)-1]); err == nil {
		t.Fatal("a truncated rank state decoded")
	}

	// A real checkpoint (an MLP with dropout around Adam) with a second rank added.
	c := resumeConfigs()["mlp"]
	out := t.TempDir()
	if _, err := runTo(t, c, out, 0, 3, 0, false); !errors.Is(err, ErrStopped) {
		t.Fatal(err)
	}
	s, err := LoadTrainState(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Ranks() != 1 || len(s.Opt.Vectors) == 0 {
		t.Fatalf("one process's checkpoint: %d ranks, %d optimizer vectors", s.Ranks(), len(s.Opt.Vectors))
	}
	other := RankState{RNG: map[string][]byte{"dropout": {9, 9}}, EpochCorrect: 5, Opt: optim.State{Numbers: s.Opt.Numbers, Vectors: map[string][]float32{}}}
	for name, v := range s.Opt.Vectors {
		if other.Same == nil {
			other.Same = []string{name} // one vector is rank 0's
			continue
		}
		w := slices.Clone(v)
		w[0]++
		other.Opt.Vectors[name] = w
	}
	s.Others = []RankState{other}
	ts, meta, err := modelFile(s.Model, s.Weights, s.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ts, err = stateFile(ts, meta, s); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := safetensors.Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	s2, err := DecodeTrainState(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if s2.Ranks() != 2 || !reflect.DeepEqual(s2.Others, s.Others) || !reflect.DeepEqual(s2.Opt, s.Opt) {
		t.Fatalf("the other rank's state after the file:\n%+v\nwant\n%+v", s2.Others, s.Others)
	}
	if err := os.WriteFile(filepath.Join(out, CheckpointFile), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = runTo(t, c, out, 0, 0, 0, true)
	if !errors.Is(err, ErrResume) || !strings.Contains(err.Error(), "holds the state of 2 ranks, this run has 1") {
		t.Fatalf("one process resuming two ranks' checkpoint: %v", err)
	}
}
