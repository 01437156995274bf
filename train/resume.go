package train

import (
	"bytes"
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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/samgo/sam"
	"github.com/samgo/sam/data"
	"github.com/samgo/sam/dist"
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
	// afresh; the config and the prepared data must be the run's (data_dir may differ), and
	// the number of ranks too: each rank continues from its own part of the state.
	//
	// With several ranks (Config.Comm), rank 0 writes one checkpoint with every rank's state
	// (the others send theirs: TrainState.Others), every CheckpointEvery steps on all ranks
	// together; the context must then end on no rank (sam train passes one that does not),
	// since the ranks would not stop at the same step.
	Resume *TrainState
	// Args are stored in the checkpoint as they are (the command line, for the caller's checks).
	Args []string
	// Shared tells that other runs in this process use the kernels' threads at the same time
	// (an in-process sweep's trials): m-sharpness then keeps its chunks one after another, as
	// running them side by side sets the whole process's threads to 1 meanwhile
	// (sam.Optimizer.SetForks). The bits are the same either way.
	Shared bool
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
	// Others are ranks 1, 2, … of a data-parallel run (the fields above, Weights and Model's
	// buffers are rank 0's); none for one process.
	Others []RankState `json:"other_ranks,omitempty"`
}

// RankState is what one rank of a data-parallel run keeps on its own, beside what all ranks
// share (weights, data order, step, the epoch's loss): its random streams (dropout masks and
// augmentation are drawn per rank), its BatchNorm running averages (per rank between the
// averages at every epoch's end), its count of correct first-pass predictions in the epoch,
// and its optimizer state (some members keep per-rank vectors, such as FriendlySAM's average of
// the rank's first gradients under --dist-eps local).
type RankState struct {
	RNG          map[string][]byte `json:"rng"`
	EpochCorrect int               `json:"epoch_correct"`
	// Opt's vectors are tensors rank/R/optimizer/NAME, except those named in Same: equal to
	// rank 0's (the common case: the reduced gradient is the same on every rank), not repeated.
	Opt     optim.State          `json:"optimizer"`
	Same    []string             `json:"same_vectors,omitempty"`
	Buffers map[string][]float32 `json:"-"` // tensors rank/R/buffer/NAME
}

// Ranks is the number of ranks whose state s holds.
func (s *TrainState) Ranks() int { return 1 + len(s.Others) }

const (
	metaTrainState = "train_state"
	metaRankState  = "rank_state"
	optTensor      = "optimizer/"
	bufTensor      = "buffer/"
	rankTensor     = "rank/" // rank/R/optimizer/NAME, rank/R/buffer/NAME
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
	dp                   *parallel
}

// checkpointer writes and restores the state of one run.
type checkpointer struct {
	o     RunOptions
	c     *Config
	pre   *Preprocess
	l     loop
	path  string
	sum   string
	first int  // the step the run started (or resumed) at
	saved int  // the step of the last checkpoint written or resumed from; -1: none
	root  bool // this rank writes the file (rank 0)
	on    bool // some rank has a path: every rank takes part in writing
}

// newCheckpointer restores o.Resume into the loop's variables, when set.
func newCheckpointer(o RunOptions, c *Config, d *Data, pre *Preprocess, l loop) (*checkpointer, error) {
	k := &checkpointer{o: o, c: c, pre: pre, l: l, path: o.Checkpoint, saved: -1, root: l.dp.root()}
	if k.path == "" && o.Out != "" {
		k.path = filepath.Join(o.Out, CheckpointFile)
	}
	k.on = k.path != ""
	if l.dp.size > 1 { // the ranks write together when any of them has a path (rank 0 should)
		v := []float64{0}
		if k.on {
			v[0] = 1
		}
		l.dp.comm.AllReduce64(v, dist.Max)
		k.on = v[0] > 0
	}
	if !k.on && o.Resume == nil {
		return k, nil
	}
	k.sum = dataSum(d)
	if k.path != "" && k.root {
		removeTemps(k.path)
		if o.Out != "" { // a killed run's unfinished writes of its other outputs
			for _, f := range []string{"metrics.jsonl", "summary.json", "model.safetensors"} {
				removeTemps(filepath.Join(o.Out, f))
			}
		}
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
		if !k.on {
			return fmt.Errorf("%w at step %d of %d: %w", ErrStopped, step, k.l.total, cause)
		}
		if err := k.write(step); err != nil {
			return err
		}
		return fmt.Errorf("%w at step %d of %d, the training state is in %s: %w", ErrStopped, step, k.l.total, k.path, cause)
	}
	if e := k.o.CheckpointEvery; e > 0 && k.on && step%e == 0 && step != k.first {
		return k.write(step)
	}
	return nil
}

// finish removes the checkpoint of a finished run.
func (k *checkpointer) finish() error {
	if k.path == "" || !k.root {
		return nil
	}
	if err := os.Remove(k.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the finished run's checkpoint: %w", err)
	}
	return nil
}

// write saves the state after step steps; a failed write keeps the previous file. With
// several ranks it is a collective: every rank sends its own state (RankState) to rank 0,
// which writes one file, and all ranks return rank 0's error.
func (k *checkpointer) write(step int) error {
	dp := k.l.dp
	if dp.size == 1 {
		return k.writeFile(step, nil)
	}
	var mine []byte
	if !k.root {
		own, err := k.own()
		if err == nil {
			mine, err = encodeRank(own)
		}
		if err != nil {
			mine = nil // rank 0 reports the missing state
		}
	}
	parts := dist.GatherBytes(dp.comm, mine)
	var err error
	if k.root {
		err = k.writeFile(step, parts[1:])
	}
	return dist.Agree(dp.comm, err, 1)
}

// own is this rank's RankState (copies).
func (k *checkpointer) own() (RankState, error) {
	l := k.l
	rs := RankState{RNG: map[string][]byte{}, EpochCorrect: *l.epochCorrect, Buffers: map[string][]float32{}}
	for name, src := range l.rng {
		b, err := src.MarshalBinary()
		if err != nil {
			return rs, err
		}
		rs.RNG[name] = b
	}
	l.opt.SaveState(&rs.Opt, "")
	for _, b := range l.m.Buffers() {
		rs.Buffers[b.Name] = slices.Clone(b.Data)
	}
	return rs, nil
}

// encodeRank is rs as a safetensors file: its vectors as tensors optimizer/NAME and
// buffer/NAME, the rest as JSON under the metadata key rank_state.
func encodeRank(rs RankState) ([]byte, error) {
	js, err := json.Marshal(&rs)
	if err != nil {
		return nil, err
	}
	var ts []safetensors.Tensor
	for name, v := range rs.Opt.Vectors {
		ts = append(ts, safetensors.Tensor{Name: optTensor + name, Shape: []int{len(v)}, Data: v})
	}
	for name, v := range rs.Buffers {
		ts = append(ts, safetensors.Tensor{Name: bufTensor + name, Shape: []int{len(v)}, Data: v})
	}
	var b bytes.Buffer
	if err := safetensors.Encode(&b, ts, map[string]string{metaRankState: string(js)}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// decodeRank reads what encodeRank wrote.
func decodeRank(b []byte) (RankState, error) {
	var rs RankState
	ts, meta, err := safetensors.Decode(b)
	if err != nil {
		return rs, err
	}
	if meta[metaRankState] == "" {
		return rs, errors.New("no rank_state")
	}
	if err := json.Unmarshal([]byte(meta[metaRankState]), &rs); err != nil {
		return rs, err
	}
	for _, t := range ts {
		if err := rs.put(t.Name, t.Data); err != nil {
			return rs, err
		}
	}
	return rs, nil
}

// put stores the vector of a tensor named optimizer/NAME or buffer/NAME.
func (rs *RankState) put(name string, v []float32) error {
	if n, ok := strings.CutPrefix(name, optTensor); ok {
		if rs.Opt.Vectors == nil {
			rs.Opt.Vectors = map[string][]float32{}
		}
		rs.Opt.Vectors[n] = v
	} else if n, ok := strings.CutPrefix(name, bufTensor); ok {
		if rs.Buffers == nil {
			rs.Buffers = map[string][]float32{}
		}
		rs.Buffers[n] = v
	} else {
		return fmt.Errorf("unexpected tensor %s in a rank's state", name)
	}
	return nil
}

// stateFile adds s's optimizer vectors and other ranks' vectors to the model file's tensors
// ts, and s itself to its metadata.
func stateFile(ts []safetensors.Tensor, meta map[string]string, s *TrainState) ([]safetensors.Tensor, error) {
	for name, v := range s.Opt.Vectors {
		ts = append(ts, safetensors.Tensor{Name: optTensor + name, Shape: []int{len(v)}, Data: v})
	}
	for i, o := range s.Others {
		pre := fmt.Sprintf("%s%d/", rankTensor, i+1)
		for name, v := range o.Opt.Vectors {
			ts = append(ts, safetensors.Tensor{Name: pre + optTensor + name, Shape: []int{len(v)}, Data: v})
		}
		for name, v := range o.Buffers {
			ts = append(ts, safetensors.Tensor{Name: pre + bufTensor + name, Shape: []int{len(v)}, Data: v})
		}
	}
	js, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	meta[metaTrainState] = string(js)
	return ts, nil
}

// writeFile writes the checkpoint of this rank (rank 0) and of the other ranks' encoded states.
func (k *checkpointer) writeFile(step int, others [][]byte) error {
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
	for i, b := range others {
		rs, err := decodeRank(b)
		if err != nil {
			return fmt.Errorf("checkpoint at step %d: the state of rank %d: %w", step, i+1, err)
		}
		for name, v := range rs.Opt.Vectors {
			if mine, ok := s.Opt.Vectors[name]; ok && slices.Equal(mine, v) {
				rs.Same = append(rs.Same, name)
				delete(rs.Opt.Vectors, name)
			}
		}
		slices.Sort(rs.Same)
		s.Others = append(s.Others, rs)
	}
	if ts, err = stateFile(ts, meta, &s); err != nil {
		return err
	}
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

// restore loads s into the loop's variables; each rank of a data-parallel run takes its own
// part (RankState).
func (k *checkpointer) restore(s *TrainState) error {
	l := k.l
	if s.Ranks() != l.dp.size {
		return fmt.Errorf("the checkpoint holds the state of %d ranks, this run has %d (resume with as many ranks as the run had)", s.Ranks(), l.dp.size)
	}
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
	// This rank's own part: rank 0's is s itself.
	rng, correct, opt := s.RNG, s.EpochCorrect, &s.Opt
	have := map[string][]float32{}
	for _, b := range s.Model.Buffers() {
		have[b.Name] = b.Data
	}
	if r := l.dp.rank; r > 0 {
		o := s.Others[r-1]
		rng, correct = o.RNG, o.EpochCorrect
		opt = &optim.State{Numbers: o.Opt.Numbers, Words: o.Opt.Words, Vectors: map[string][]float32{}}
		for name, v := range o.Opt.Vectors {
			opt.Vectors[name] = v
		}
		for _, name := range o.Same {
			v, ok := s.Opt.Vectors[name]
			if !ok {
				return fmt.Errorf("rank %d's optimizer state %s is rank 0's, which has none", r, name)
			}
			opt.Vectors[name] = v
		}
		for _, b := range l.m.Buffers() {
			v, ok := o.Buffers[b.Name]
			if !ok || len(v) != len(b.Data) {
				return fmt.Errorf("rank %d's state has no buffer %s of %d values", r, b.Name, len(b.Data))
			}
			have[b.Name] = v
		}
	}
	if correct < 0 {
		return errors.New("the checkpoint's epoch sums are not valid")
	}
	for name, src := range l.rng {
		b, ok := rng[name]
		if !ok {
			return fmt.Errorf("the checkpoint has no %s random stream", name)
		}
		if err := src.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("random stream %s: %w", name, err)
		}
	}
	for name, v := range opt.Vectors {
		if len(v) != len(l.w) {
			return fmt.Errorf("optimizer state %s has %d values, the model %d", name, len(v), len(l.w))
		}
	}
	if err := l.opt.LoadState(opt, ""); err != nil {
		return err
	}
	copy(l.w, s.Weights)
	for _, b := range l.m.Buffers() {
		copy(b.Data, have[b.Name])
	}
	copy(l.perm, s.Perm)
	*l.step = s.Step
	*l.epochLoss, *l.epochN, *l.epochCorrect = s.EpochLoss, s.EpochN, correct
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
		if rest, ok := strings.CutPrefix(t.Name, rankTensor); ok {
			rs, name, _ := strings.Cut(rest, "/")
			r, err := strconv.Atoi(rs)
			if err != nil || r < 1 || r > len(s.Others) {
				return nil, fmt.Errorf("tensor %s: the train_state has %d other ranks", t.Name, len(s.Others))
			}
			if err := s.Others[r-1].put(name, t.Data); err != nil {
				return nil, err
			}
		} else if name, ok := strings.CutPrefix(t.Name, optTensor); ok {
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
