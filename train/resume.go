package train

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/samgo/sam"
	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/safetensors"
)

// CheckpointFile is the name of the training-state checkpoint in a run folder.
const CheckpointFile = "checkpoint.safetensors"

// ErrStopped is returned (wrapped, together with the context's cause) when the context given to
// RunWith ends before training does; the training state is then in the checkpoint.
var ErrStopped = errors.New("training stopped")

// ErrResume is returned (wrapped) when RunOptions.Resume does not fit the run: other settings,
// other data, or a checkpoint that does not match its own model.
var ErrResume = errors.New("cannot resume")

// RunOptions say where Run writes and how it checkpoints. The zero value (plus Out) is Run.
type RunOptions struct {
	Out, Save string // as in Run
	Observer  Observer
	// Checkpoint is the file of the full training state; "" means Out/CheckpointFile, or no
	// checkpoints without Out. It is written atomically every CheckpointEvery steps (0: never
	// on a schedule) and when the context ends, and removed when the run finishes (also when
	// it diverges), once its outputs are written.
	Checkpoint      string
	CheckpointEvery int
	// Resume, when not nil, continues the run it holds (LoadTrainState) instead of starting
	// afresh; the config and the prepared data must be the run's (data_dir may differ).
	Resume *TrainState
	// Args are stored in the checkpoint as they are (the command line, for the caller's checks).
	Args []string
}

// TrainState is the full state of a run between two steps, as a checkpoint holds it: the model
// file's tensors and metadata (weights, BatchNorm buffers, config, preprocessing), the
// optimizer's vectors as tensors named "optimizer/NAME", and this struct as JSON under the
// metadata key "train_state".
type TrainState struct {
	Path    string      `json:"-"`
	Config  *Config     `json:"-"`
	Model   *nn.Model   `json:"-"` // weights and buffers as saved
	Weights []float32   `json:"-"`
	Opt     optim.State `json:"optimizer"` // SAM's numbers and words (the vectors are tensors)

	Version  int     `json:"version"`
	Step     int     `json:"step"` // steps done
	Total    int     `json:"total_steps"`
	PerEpoch int     `json:"steps_per_epoch"`
	Elapsed  float64 `json:"elapsed_seconds"`
	// The epoch's running sums, for its metrics line.
	EpochLoss    float64   `json:"epoch_loss"`
	EpochN       int       `json:"epoch_examples"`
	EpochCorrect int       `json:"epoch_correct"`
	Metrics      []Metrics `json:"metrics"`
	// RNG holds every random stream the loop draws from (MarshalBinary of its PCG source):
	// "shuffle", "dropout" and, with augmentation, "augment".
	RNG  map[string][]byte `json:"rng"`
	Perm []int             `json:"perm"`        // the data order of the current epoch
	Data string            `json:"data_crc32c"` // of the prepared splits, to refuse other data
	Args []string          `json:"args,omitempty"`
}

const (
	metaTrainState = "train_state"
	optTensor      = "optimizer/"
	stateVersion   = 1
)

// loop points at Run's variables that make up the state between steps.
type loop struct {
	step                 *int
	m                    *nn.Model
	w                    []float32
	opt                  *sam.Optimizer
	perm                 []int
	rng                  map[string]*rand.PCG
	epochLoss            *float64
	epochN, epochCorrect *int
	metrics              *[]Metrics
	start                *time.Time
	total, perEpoch      int
}

// checkpointer writes and restores the state of one run.
type checkpointer struct {
	o     RunOptions
	c     *Config
	pre   *Preprocess
	l     loop
	path  string
	sum   string
	first int // the step the run started (or resumed) at
	saved int // the step of the last checkpoint written or resumed from; -1: none
}

// newCheckpointer restores o.Resume into the loop's variables, when set.
func newCheckpointer(o RunOptions, c *Config, d *Data, pre *Preprocess, l loop) (*checkpointer, error) {
	k := &checkpointer{o: o, c: c, pre: pre, l: l, path: o.Checkpoint, saved: -1}
	if k.path == "" && o.Out != "" {
		k.path = filepath.Join(o.Out, CheckpointFile)
	}
	if k.path == "" && o.Resume == nil {
		return k, nil
	}
	k.sum = dataSum(d)
	if k.path != "" {
		removeTemps(k.path)
	}
	if s := o.Resume; s != nil {
		if err := k.restore(s); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrResume, s.Path, err)
		}
		k.first, k.saved = s.Step, s.Step
	}
	return k, nil
}

// boundary runs between steps, before step+1: it writes the checkpoint when the schedule says
// so, and when ctx has ended, after which it returns an error wrapping ErrStopped.
func (k *checkpointer) boundary(ctx context.Context, step int) error {
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if k.path == "" {
			return fmt.Errorf("%w at step %d of %d: %w", ErrStopped, step, k.l.total, cause)
		}
		if err := k.write(step); err != nil {
			return err
		}
		return fmt.Errorf("%w at step %d of %d, the training state is in %s: %w", ErrStopped, step, k.l.total, k.path, cause)
	}
	if e := k.o.CheckpointEvery; e > 0 && k.path != "" && step%e == 0 && step != k.first {
		return k.write(step)
	}
	return nil
}

// finish removes the checkpoint of a finished run.
func (k *checkpointer) finish() error {
	if k.path == "" {
		return nil
	}
	if err := os.Remove(k.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the finished run's checkpoint: %w", err)
	}
	return nil
}

// write saves the state after step steps; a failed write keeps the previous file.
func (k *checkpointer) write(step int) error {
	l := k.l
	ts, meta, err := modelFile(l.m, l.w, k.c, k.pre)
	if err != nil {
		return err
	}
	s := TrainState{Version: stateVersion, Step: step, Total: l.total, PerEpoch: l.perEpoch,
		Elapsed: time.Since(*l.start).Seconds(), EpochLoss: *l.epochLoss, EpochN: *l.epochN,
		EpochCorrect: *l.epochCorrect, Metrics: *l.metrics, RNG: map[string][]byte{},
		Perm: l.perm, Data: k.sum, Args: k.o.Args}
	for name, src := range l.rng {
		if s.RNG[name], err = src.MarshalBinary(); err != nil {
			return err
		}
	}
	l.opt.SaveState(&s.Opt, "")
	for name, v := range s.Opt.Vectors {
		ts = append(ts, safetensors.Tensor{Name: optTensor + name, Shape: []int{len(v)}, Data: v})
	}
	js, err := json.Marshal(&s)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	meta[metaTrainState] = string(js)
	if err := safetensors.WriteFile(k.path, ts, meta); err != nil {
		kept := "there is no earlier checkpoint"
		if k.saved >= 0 {
			kept = fmt.Sprintf("the checkpoint of step %d is kept", k.saved)
		}
		return fmt.Errorf("checkpoint at step %d: %w; %s", step, err, kept)
	}
	k.saved = step
	return nil
}

// restore loads s into the loop's variables.
func (k *checkpointer) restore(s *TrainState) error {
	l := k.l
	if d := ConfigDiff(k.c, s.Config); d != "" {
		return fmt.Errorf("the run's settings differ from the checkpoint's: %s", d)
	}
	if s.Data != k.sum {
		return errors.New("the prepared data differ from the checkpoint's (a changed data file?)")
	}
	if s.Total != l.total || s.PerEpoch != l.perEpoch {
		return fmt.Errorf("the checkpoint has %d steps of %d per epoch, the run %d of %d", s.Total, s.PerEpoch, l.total, l.perEpoch)
	}
	if s.Step < 0 || s.Step > s.Total || len(s.Perm) != len(l.perm) || len(s.Weights) != len(l.w) {
		return errors.New("the checkpoint does not fit the run (step, data order or weights)")
	}
	seen := make([]bool, len(s.Perm))
	for _, i := range s.Perm {
		if i < 0 || i >= len(seen) || seen[i] {
			return errors.New("the checkpoint's data order is not a permutation")
		}
		seen[i] = true
	}
	if s.EpochN < 0 || s.EpochCorrect < 0 || math.IsNaN(s.Elapsed) || s.Elapsed < 0 {
		return errors.New("the checkpoint's epoch sums are not valid")
	}
	for name, src := range l.rng {
		b, ok := s.RNG[name]
		if !ok {
			return fmt.Errorf("the checkpoint has no %s random stream", name)
		}
		if err := src.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("random stream %s: %w", name, err)
		}
	}
	for name, v := range s.Opt.Vectors {
		if len(v) != len(l.w) {
			return fmt.Errorf("optimizer state %s has %d values, the model %d", name, len(v), len(l.w))
		}
	}
	if err := l.opt.LoadState(&s.Opt, ""); err != nil {
		return err
	}
	copy(l.w, s.Weights)
	have := map[string][]float32{}
	for _, b := range s.Model.Buffers() {
		have[b.Name] = b.Data
	}
	for _, b := range l.m.Buffers() {
		copy(b.Data, have[b.Name])
	}
	copy(l.perm, s.Perm)
	*l.step = s.Step
	*l.epochLoss, *l.epochN, *l.epochCorrect = s.EpochLoss, s.EpochN, s.EpochCorrect
	*l.metrics = append([]Metrics(nil), s.Metrics...)
	*l.start = time.Now().Add(-time.Duration(s.Elapsed * float64(time.Second)))
	return nil
}

// LoadTrainState reads a checkpoint written by RunWith: path is the file, or a run folder that
// holds CheckpointFile. Errors are one line naming the file.
func LoadTrainState(path string) (*TrainState, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, CheckpointFile)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no checkpoint %s (the run finished, or wrote none: see --checkpoint-every)", path)
	}
	if err != nil {
		return nil, err
	}
	s, err := DecodeTrainState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	s.Path = path
	return s, nil
}

// DecodeTrainState parses a whole checkpoint file held in b. Errors are one line.
func DecodeTrainState(b []byte) (*TrainState, error) {
	ts, meta, err := safetensors.Decode(b)
	if err != nil {
		return nil, err
	}
	if meta[metaTrainState] == "" {
		return nil, errors.New("not a training checkpoint (no train_state: a model file?)")
	}
	s := new(TrainState)
	if err := json.Unmarshal([]byte(meta[metaTrainState]), s); err != nil {
		return nil, fmt.Errorf("corrupt train_state: %v", err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("train_state version %d, this sam reads %d", s.Version, stateVersion)
	}
	model := ts[:0:0]
	for _, t := range ts {
		if name, ok := strings.CutPrefix(t.Name, optTensor); ok {
			if s.Opt.Vectors == nil {
				s.Opt.Vectors = map[string][]float32{}
			}
			s.Opt.Vectors[name] = t.Data
		} else {
			model = append(model, t)
		}
	}
	ck, err := decodeModel(model, meta)
	if err != nil {
		return nil, err
	}
	if ck.Config == nil {
		return nil, errors.New("no run config")
	}
	s.Config, s.Model, s.Weights = ck.Config, ck.Model, ck.Weights
	return s, nil
}

// removeTemps removes the temporary files that a killed write of path left behind.
func removeTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	olds, _ := filepath.Glob(filepath.Join(dir, "."+base+".tmp-*"))
	for _, o := range olds {
		os.Remove(o)
	}
}

// dataSum is a CRC-32C of the prepared splits' features and targets.
func dataSum(d *Data) string {
	tab := crc32.MakeTable(crc32.Castagnoli)
	var h uint32
	buf := make([]byte, 0, 1<<16)
	f32 := func(v []float32) {
		for len(v) > 0 {
			n := min(len(v), cap(buf)/4)
			buf = buf[:0]
			for _, x := range v[:n] {
				b := math.Float32bits(x)
				buf = append(buf, byte(b), byte(b>>8), byte(b>>16), byte(b>>24))
			}
			h = crc32.Update(h, tab, buf)
			v = v[n:]
		}
	}
	for _, s := range []*data.Set{d.Train, d.Val, d.Test} {
		if s == nil {
			continue
		}
		f32(s.X)
		f32(s.Y)
		lab := make([]float32, len(s.Labels))
		for i, y := range s.Labels {
			lab[i] = float32(y)
		}
		f32(lab)
		f32([]float32{float32(s.N())})
	}
	return hex.EncodeToString([]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
}

// ConfigDiff names the first setting (by its JSON path, as in summary.json) in which a and b
// differ, with both values, or returns "" when they agree. data_dir is not compared.
func ConfigDiff(a, b *Config) string {
	norm := func(c *Config) reflect.Value {
		var out Config
		js, _ := json.Marshal(c)
		json.Unmarshal(js, &out)
		out.DataDir = ""
		return reflect.ValueOf(out)
	}
	return diffValue("", norm(a), norm(b))
}

func diffValue(path string, a, b reflect.Value) string {
	if a.Kind() == reflect.Struct {
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			p := path
			if !f.Anonymous {
				if name == "" {
					name = f.Name
				}
				p = strings.TrimPrefix(path+"."+name, ".")
			}
			if d := diffValue(p, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		if _, ok := a.Interface().(json.Marshaler); !ok {
			return ""
		} // else its own JSON may hold more (sam.Config's member settings): compare it whole
	}
	ja, jb := leaf(a), leaf(b)
	if ja != jb {
		if path == "" {
			path = "the config"
		}
		return fmt.Sprintf("%s is %s here, %s in the checkpoint", path, ja, jb)
	}
	return ""
}

// leaf is v as JSON, or as Go prints it where JSON cannot hold it (an infinite p).
func leaf(v reflect.Value) string {
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}
