package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/samgo/sam"
	"github.com/samgo/sam/data"
	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/tensor"
)

// Metrics is one line of metrics.jsonl, written at the end of each epoch (and after the last
// step when --steps ends mid-epoch). Training loss and accuracy are running averages over the
// epoch's first-pass evaluations; validation metrics are measured in evaluation mode.
type Metrics struct {
	Epoch     int      `json:"epoch"`
	Step      int      `json:"step"`
	TrainLoss *float64 `json:"train_loss"` // null if not finite
	TrainAcc  *float64 `json:"train_acc,omitempty"`
	ValLoss   *float64 `json:"val_loss,omitempty"` // omitted without a validation set, null if not finite
	ValAcc    *float64 `json:"val_acc,omitempty"`
	LR        float64  `json:"lr"`
	Seconds   float64  `json:"seconds"`              // wall time since training started
	LambdaMax *float64 `json:"lambda_max,omitempty"` // with TrackSharpness: top Hessian eigenvalue on sharpness.TrackSubset training examples
}

// Summary is summary.json: the run's config and final metrics of the final weights, measured in
// evaluation mode on each split (accuracies omitted for regression; splits that are empty omitted).
type Summary struct {
	Config      *Config `json:"config"`
	Model       string  `json:"model"`
	Parameters  int     `json:"parameters"`
	TrainN      int     `json:"train_examples"`
	ValN        int     `json:"val_examples"`
	TestN       int     `json:"test_examples"`
	NoisyLabels int     `json:"noisy_labels,omitempty"`
	Skipped     int     `json:"skipped_images,omitempty"` // unreadable images left out (--skip-bad-images)
	Steps       int     `json:"steps"`
	Epochs      float64 `json:"epochs"`
	Scores
	WallSeconds float64 `json:"wall_seconds"`
	Stopped     string  `json:"stopped,omitempty"` // why training stopped early
}

// Scores are the losses and accuracies of final weights on each split, measured in evaluation
// mode; nil when a split is empty, a loss is not finite, or (accuracies) for regression.
type Scores struct {
	TrainLoss *float64 `json:"train_loss"`
	TrainAcc  *float64 `json:"train_acc,omitempty"`
	ValLoss   *float64 `json:"val_loss,omitempty"`
	ValAcc    *float64 `json:"val_acc,omitempty"`
	TestLoss  *float64 `json:"test_loss,omitempty"`
	TestAcc   *float64 `json:"test_acc,omitempty"`
}

// Observer hears about progress; any method may be left nil.
type Observer struct {
	Start func(totalSteps, stepsPerEpoch int, m *nn.Model, d *Data)
	Step  func(step int, loss float64)
	Epoch func(m Metrics)
}

// Result is what Run returns.
type Result struct {
	Summary Summary
	Model   *nn.Model
	Weights []float32
}

// ErrDiverged is returned (wrapped) when the loss or gradient becomes NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Run trains according to c on prepared data d. When out is non-empty it writes
// out/metrics.jsonl (after every epoch), out/summary.json and out/model.safetensors; save, when
// non-empty, is a second path for the weights. Every file is written atomically. When the loss
// diverges Run saves the last good weights and the summary, and returns an error wrapping ErrDiverged.
func Run(c *Config, d *Data, out, save string, obs Observer) (*Result, error) {
	return RunWith(context.Background(), c, d, RunOptions{Out: out, Save: save, Observer: obs})
}

// RunWith is Run with checkpoints (see RunOptions): when rctx ends it writes the checkpoint
// after the step in progress and returns an error wrapping ErrStopped and rctx's cause.
func RunWith(rctx context.Context, c *Config, d *Data, o RunOptions) (*Result, error) {
	out, save, obs := o.Out, o.Save, o.Observer
	m, err := nn.Build(c.Model)
	if err != nil {
		return nil, err
	}
	nn.SetGhost(m, c.BNGhost)
	w, err := m.Init(c.Init, c.Seed)
	if err != nil {
		return nil, err
	}
	base, err := optim.New(c.Optimizer, &m.Layout)
	if err != nil {
		return nil, err
	}
	tr := d.Train
	n := tr.N()
	bs := c.BatchSize
	if bs == 0 || bs > n {
		bs = n
	}
	perEpoch := (n + bs - 1) / bs
	total := c.Steps
	if total == 0 {
		total = c.Epochs * perEpoch
	}
	samCfg := c.SAM // the run's learning-rate range, for members that follow it (GSAM's ρ)
	samCfg.LRMin, samCfg.LRMax = math.Inf(1), 0
	for t := 0; t < total; t++ {
		lr := c.Schedule.LR(c.LR, t, total)
		samCfg.LRMin, samCfg.LRMax = min(samCfg.LRMin, lr), max(samCfg.LRMax, lr)
	}
	if total == 0 {
		samCfg.LRMin = 0
	}
	dp, samCfg, err := newParallel(c, d, w, samCfg) // data parallel, accumulation: dist.go
	if err != nil {
		return nil, err
	}
	if !dp.root() {
		out, save, obs = "", "", Observer{}
	}
	opt, err := sam.New(base, &m.Layout, samCfg)
	if err != nil {
		return nil, err
	}
	aug, err := NewAugmenter(c.Images.Augment, d.Train.Shape, dp.augSeed(c.Seed))
	if err != nil {
		return nil, err
	}
	if err := dp.attach(opt, c); err != nil {
		return nil, err
	}
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	if obs.Start != nil {
		obs.Start(total, perEpoch, m, d)
	}
	evalBatch := c.EvalBatch
	if evalBatch <= 0 {
		evalBatch = 256
	}

	dim := tr.Dim()
	k := tr.Outputs
	classify := tr.IsClassification()
	// The batch: full batch reads the training set in place; mini-batches, and augmented
	// batches, are copied in.
	bx, blab, by := tr.X, tr.Labels, tr.Y
	copyIn := bs < n || aug != nil || dp.size > 1
	if copyIn {
		bx = make([]float32, bs*dim)
		if classify {
			blab = make([]int32, bs)
		} else {
			by = make([]float32, bs*k)
		}
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	shufflePCG, dropoutPCG := rand.NewPCG(c.Seed, 0x5f1e), rand.NewPCG(c.Seed, dp.rngSeed())
	shuffle := rand.New(shufflePCG)
	ctx := &nn.Ctx{Train: true, Rng: rand.New(dropoutPCG)}
	var epochCorrect int
	ex := &nn.Examples{Model: m, Ctx: ctx} // the per-example view of ESAM's data selection and SAF
	// pass is the loss on rows [lo,hi) of the batch, evaluated by model m in context ctx, its
	// first passes' correct predictions counted into correct.
	pass := func(m *nn.Model, ctx *nn.Ctx, correct *int) sam.Loss {
		return func(w, g []float32, lo, hi int, second bool) float64 {
			ctx.Second = second
			t := nn.Target{Traj: ex.Traj.Rows(lo, hi, m.Spec.Outputs)}
			if classify {
				t.Labels = blab[lo:hi]
			} else {
				t.Y = by[lo*k : hi*k]
			}
			l, right := m.Grad(ctx, w, g, bx[lo*dim:hi*dim], hi-lo, t)
			if !second {
				*correct += right
			}
			return l
		}
	}
	lossFn := dp.accumulate(pass(m, ctx, &epochCorrect))
	// m-sharpness evaluates its chunks on the threads at once where the model allows it
	// (nn.Model.Forks); not with accumulation, which is there to hold one micro-batch at a time,
	// nor beside other runs of this process (RunOptions.Shared).
	var forkCorrect []int
	if mc := samCfg.M; mc > 0 && mc < bs && dp.micro == 0 && tensor.Threads() > 1 && !o.Shared {
		ms, err := m.Forks(tensor.Threads() - 1)
		if err != nil {
			return nil, err
		}
		forkCorrect = make([]int, len(ms))
		var forks []sam.Loss
		for i, f := range ms {
			forks = append(forks, pass(f, &nn.Ctx{Train: true}, &forkCorrect[i]))
		}
		opt.SetForks(forks)
	}

	pre := NewPreprocess(c, d) // saved with every checkpoint
	start := time.Now()
	var metrics []Metrics
	var epochLoss float64
	var epochN int
	sum := Summary{Config: c, Model: m.Describe(), Parameters: m.Layout.Size(), TrainN: n,
		ValN: d.Val.N(), TestN: d.Test.N(), NoisyLabels: d.NoisyLabels, Skipped: d.SkippedImages}
	step := 0
	rngs := map[string]*rand.PCG{"shuffle": shufflePCG, "dropout": dropoutPCG}
	if aug != nil {
		rngs["augment"] = aug.pcg
	}
	ck, err := newCheckpointer(o, c, d, pre, loop{step: &step, m: m, w: w, opt: opt, perm: perm, rng: rngs,
		epochLoss: &epochLoss, epochN: &epochN, epochCorrect: &epochCorrect, metrics: &metrics, start: &start,
		total: total, perEpoch: perEpoch, dp: dp})
	if err != nil {
		return nil, err
	}
	if err := snapshot(c, pre, out, m, w, step, total); err != nil {
		return nil, err
	}
	var stepErr error
	for step < total {
		if err := ck.boundary(rctx, step); err != nil {
			return nil, err
		}
		pos := step % perEpoch
		if pos == 0 && bs < n {
			shuffle.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		}
		lo, hi := pos*bs, min((pos+1)*bs, n)
		slo, shi := dp.share(lo, hi) // this rank's rows of the batch
		rows := shi - slo
		if copyIn {
			gather(tr, perm[slo:shi], bx, blab, by)
		}
		if aug != nil {
			aug.Apply(bx, rows)
		}
		lr := c.Schedule.LR(c.LR, step, total)
		ex.X, ex.N, ex.T, ex.Idx = bx[:rows*dim], rows, nn.Target{}, perm[slo:shi]
		if classify {
			ex.T.Labels = blab[:rows]
		} else {
			ex.T.Y = by[:rows*k]
		}
		l, err := opt.StepExamples(w, rows, lossFn, ex, lr)
		for i, c := range forkCorrect {
			epochCorrect += c
			forkCorrect[i] = 0
		}
		if err != nil {
			stepErr = fmt.Errorf("%w at step %d (epoch %d, lr %g): loss %g; the last good weights are saved", ErrDiverged, step+1, step/perEpoch+1, lr, l)
			break
		}
		step++
		if err := snapshot(c, pre, out, m, w, step, total); err != nil {
			return nil, err
		}
		epochLoss += l * float64(hi-lo) // l is the whole batch's mean
		epochN += hi - lo
		if obs.Step != nil {
			obs.Step(step, l)
		}
		if step%perEpoch == 0 || step == total {
			epochCorrect = dp.sum(epochCorrect)
			dp.syncBuffers(m)
			mt := Metrics{Epoch: (step + perEpoch - 1) / perEpoch, Step: step, TrainLoss: ptr(epochLoss / float64(epochN)),
				LR: lr}
			if classify {
				mt.TrainAcc = ptr(float64(epochCorrect) / float64(epochN))
			}
			if d.Val.N() > 0 {
				mt.ValLoss, mt.ValAcc = evaluate(m, w, d.Val, evalBatch)
			}
			if c.TrackSharpness > 0 && mt.Epoch%c.TrackSharpness == 0 {
				lm, err := sharpness.LambdaMax(m, w, tr, sharpness.TrackSubset, c.Seed)
				if err != nil {
					return nil, fmt.Errorf("--track-sharpness: %w", err)
				}
				mt.LambdaMax = ptr(lm)
			}
			mt.Seconds = time.Since(start).Seconds()
			metrics = append(metrics, mt)
			epochLoss, epochN, epochCorrect = 0, 0, 0
			var werr error
			if out != "" {
				werr = writeMetrics(filepath.Join(out, "metrics.jsonl"), metrics)
			}
			if err := dp.epoch(werr, w, step); err != nil {
				return nil, err
			}
			if obs.Epoch != nil {
				obs.Epoch(mt)
			}
		}
	}
	sum.WallSeconds = time.Since(start).Seconds()
	sum.Steps = step
	sum.Epochs = float64(step) / float64(perEpoch)
	if stepErr != nil {
		sum.Stopped = stepErr.Error()
	}
	dp.syncBuffers(m)
	sum.TrainLoss, sum.TrainAcc = evaluate(m, w, tr, evalBatch)
	if d.Val.N() > 0 {
		sum.ValLoss, sum.ValAcc = evaluate(m, w, d.Val, evalBatch)
	}
	if d.Test.N() > 0 {
		sum.TestLoss, sum.TestAcc = evaluate(m, w, d.Test, evalBatch)
	}
	res := &Result{Summary: sum, Model: m, Weights: w}
	if out != "" {
		if err := SaveModel(filepath.Join(out, "model.safetensors"), m, w, c, pre); err != nil {
			return nil, err
		}
		js, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("summary.json: %w", err)
		}
		if err := atomic.WriteBytes(filepath.Join(out, "summary.json"), append(js, '\n')); err != nil {
			return nil, err
		}
	}
	if save != "" {
		if err := SaveModel(save, m, w, c, pre); err != nil {
			return nil, fmt.Errorf("--save: %w", err)
		}
	}
	if err := ck.finish(); err != nil {
		return nil, err
	}
	return res, stepErr
}

// gather copies the rows idx of s to the front of the batch buffers.
func gather(s *data.Set, idx []int, bx []float32, blab []int32, by []float32) {
	d, k := s.Dim(), s.Outputs
	for j, i := range idx {
		copy(bx[j*d:(j+1)*d], s.X[i*d:(i+1)*d])
		if s.Labels != nil {
			blab[j] = s.Labels[i]
		}
		if s.Y != nil {
			copy(by[j*k:(j+1)*k], s.Y[i*k:(i+1)*k])
		}
	}
}

// evaluate returns the mean loss on s in evaluation mode (nil if not finite), and the accuracy
// for classification (nil for regression).
func evaluate(m *nn.Model, w []float32, s *data.Set, batch int) (*float64, *float64) {
	t := nn.Target{Labels: s.Labels, Y: s.Y}
	l, correct := m.Evaluate(w, s.X, s.N(), t, batch)
	if s.Labels == nil {
		return ptr(l), nil
	}
	return ptr(l), ptr(float64(correct) / float64(s.N()))
}

func writeMetrics(path string, ms []Metrics) error {
	return atomic.WriteFile(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, m := range ms {
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
		return nil
	})
}

// ptr boxes a metric for JSON; NaN and ±Inf, which JSON cannot hold, become nil.
func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
