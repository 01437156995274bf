package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

// benchResult is the JSON line `sam bench` prints.
type benchResult struct {
	Model          string  `json:"model"`
	Parameters     int     `json:"parameters"`
	Batch          int     `json:"batch"`
	Opt            string  `json:"opt"`
	Rho            float64 `json:"rho"`
	Variant        string  `json:"variant"`
	Augment        string  `json:"augment,omitempty"`
	Conv           string  `json:"conv,omitempty"` // --conv winograd (step_gflop still counts the direct convolution's work)
	Threads        int     `json:"threads"`
	Forks          int     `json:"forks,omitempty"` // --m: the model's copies that run chunks beside the model's own (SetForks)
	StepsPerSec    float64 `json:"steps_per_sec"`
	ExamplesPerSec float64 `json:"examples_per_sec"`
	GFLOPs         float64 `json:"gflops"`
	Passes         float64 `json:"passes"`                  // forward-backward passes per step that StepGFLOP counts
	StepGFLOP      float64 `json:"step_gflop"`              // FLOPs of one step (the global batch under mpirun), in 10⁹
	GemmGFLOPs     float64 `json:"gemm_gflops,omitempty"`   // with --roofline: a 1024³ SGEMM, same threads, same process
	RooflineFrac   float64 `json:"roofline_frac,omitempty"` // with --roofline: gflops ÷ gemm_gflops
	MaxRSSMB       float64 `json:"max_rss_mb"`              // the process's peak resident memory
	Ranks          int     `json:"ranks,omitempty"`         // under mpirun: the ranks, each with Threads threads
	DistEps        string  `json:"dist_eps,omitempty"`      // under mpirun: local or global
	AllReduceMS    float64 `json:"allreduce_ms,omitempty"`  // under mpirun: one all-reduce of the parameters (and the loss)
}

func newBenchCmd(stdout, stderr io.Writer) *cobra.Command {
	var f trainFlags
	var batch, classes int
	var input, image, profile string
	var roofline bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time training steps of a model on synthetic data and print one JSON line",
		Long: `Time training steps (after a warm-up) of the model, optimizer and SAM settings given by the
same flags as 'sam train', on synthetic data of the model's input shape, and print one JSON line:
{"model","parameters","batch","opt","rho","variant","threads","steps_per_sec","examples_per_sec",
"gflops","passes","step_gflop","max_rss_mb"}, and with --roofline also "gemm_gflops","roofline_frac".
--steps is the number of timed steps (default 50); --rho 0 times the base optimizer alone.
step_gflop is the FLOP count of one step (10⁹ FLOPs): the dense and convolution layers' multiply-adds,
2 FLOPs each, × 3 per pass (forward and the two backward products) × passes, the member's pass count
("sam variants": 1 for the base optimizer, 1 + --ascent-steps for SAM, k + 1 for Lookbehind-SAM,
1 + 1/k for LookSAM, a forward pass counted as a third of a pass). gflops is the achieved rate,
step_gflop × steps_per_sec. --roofline then times a 1024×1024×1024 SGEMM (the project's GEMM, best of
5, the same --threads, in the same process) and adds its rate, gemm_gflops, and roofline_frac =
gflops ÷ gemm_gflops.`,
		Example: `  sam bench --model mlp --hidden 256,256 --batch 128 --opt sgd --rho 0
  sam bench --model mlp --hidden 256,256 --batch 128 --opt sgd --rho 0.05 --threads 1
  sam bench --model cnn --batch 128 --opt sgd --rho 0 --threads 2 --roofline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if batch <= 0 {
				return usage(fmt.Errorf("--batch: must be > 0, got %d", batch))
			}
			if classes < 1 {
				return usage(fmt.Errorf("--classes: must be ≥ 1, got %d", classes))
			}
			var shape []int
			if image != "" {
				if cmd.Flags().Changed("input") {
					return usage(fmt.Errorf("--image/--input: give one of them"))
				}
				hwc, err := parseImageShape(image)
				if err != nil {
					return usage(err)
				}
				input = fmt.Sprintf("%d,%d,%d", hwc[2], hwc[0], hwc[1])
			}
			for _, s := range strings.Split(input, ",") {
				d, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || d <= 0 {
					return usage(fmt.Errorf("--input: want a shape such as 1,28,28, got %q", input))
				}
				shape = append(shape, d)
			}
			steps := f.steps
			if !cmd.Flags().Changed("steps") {
				steps = 50
			}
			if steps <= 0 {
				return usage(fmt.Errorf("--steps: must be > 0, got %d", steps))
			}
			f.steps = 0
			c, err := f.config(cmd)
			if err != nil {
				return usage(err)
			}
			c.Model.Input, c.Model.Outputs = shape, classes
			if c.Task == "regression" || c.Model.Loss == "bce" {
				c.Model.Outputs = 1
			}
			var prof io.WriteCloser
			if profile != "" {
				if prof, err = os.Create(profile); err != nil {
					return usage(fmt.Errorf("--cpuprofile: %v", err))
				}
				defer prof.Close()
			}
			comm, err := world()
			if err != nil {
				return err
			}
			closeWorld = func() { comm.Close() }
			global := batch
			if batch, err = benchShare(comm, c, batch); err != nil {
				return usage(err)
			}
			res, err := bench(c.Model, c.Init, c.Optimizer, c.SAM, c.LR, batch, steps, f.threads, f.seed, prof, c.Images.Augment, comm, c.DistEps)
			if err != nil {
				return usage(err)
			}
			res.MaxRSSMB = maxRSSMB() // before the GEMM's 12 MB of matrices
			if roofline {
				res.GemmGFLOPs = gemmGFLOPs(1024, 5, f.threads)
			}
			if comm.Size() > 1 { // rates of the global batch; one all-reduce's time
				res.Batch, res.ExamplesPerSec, res.GFLOPs = global, res.StepsPerSec*float64(global), res.GFLOPs*float64(comm.Size())
				res.StepGFLOP *= float64(comm.Size())
				res.GemmGFLOPs *= float64(comm.Size()) // every rank's GEMM at once: the ranks' roofline
				res.Ranks, res.DistEps = comm.Size(), cmp.Or(c.DistEps, train.EpsLocal)
				res.AllReduceMS = allReduceMS(comm, res.Parameters)
				if comm.Rank() != 0 {
					return nil
				}
			}
			if res.GemmGFLOPs > 0 {
				res.RooflineFrac = res.GFLOPs / res.GemmGFLOPs
			}
			return json.NewEncoder(stdout).Encode(res)
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.IntVar(&batch, "batch", 128, "examples per step")
	fl.StringVar(&input, "input", "1,28,28", "shape of one synthetic example")
	fl.StringVar(&image, "image", "", "shape of one synthetic image as HxWxC, such as 32x32x3 (instead of --input C,H,W)")
	fl.IntVar(&classes, "classes", 10, "number of classes (outputs) of the synthetic task")
	fl.BoolVar(&roofline, "roofline", false, "also time a 1024³ SGEMM with the same threads and report gemm_gflops and roofline_frac")
	fl.StringVar(&profile, "cpuprofile", "", "write a Go CPU profile of the timed steps to this file (go tool pprof)")
	for _, name := range []string{"data", "data-dir", "target", "val-fraction", "test-fraction", "standardize", "label-noise", "train-size",
		"epochs", "batch-size", "schedule", "warmup", "lr-step", "lr-gamma", "min-lr", "out", "save", "quiet",
		"cifar100-labels", "image-size", "channels", "skip-bad-images"} {
		fl.MarkHidden(name)
	}
	return cmd
}

// bench times steps training steps after a warm-up and returns the measured rates.
// When prof is not nil, a CPU profile of the timed steps is written to it.
func bench(spec nn.Spec, init string, oc optim.Config, sc sam.Config, lr float64, batch, steps, threads int, seed uint64, prof io.Writer, augment train.Augment, comm dist.Comm, distEps string) (*benchResult, error) {
	m, err := nn.Build(spec)
	if err != nil {
		return nil, err
	}
	w, err := m.Init(init, seed)
	if err != nil {
		return nil, err
	}
	base, err := optim.New(oc, &m.Layout)
	if err != nil {
		return nil, err
	}
	opt, err := sam.New(base, &m.Layout, sc)
	if err != nil {
		return nil, err
	}
	if err := benchAttach(comm, opt, distEps); err != nil { // bench_dist.go
		return nil, err
	}
	prev := tensor.SetThreads(threads)
	defer tensor.SetThreads(prev)
	rng := rand.New(rand.NewPCG(seed, 1+uint64(comm.Rank())))
	x := make([]float32, batch*m.InDim())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	t := nn.Target{}
	if spec.Loss == "ce" {
		t.Labels = make([]int32, batch)
		for i := range t.Labels {
			t.Labels[i] = int32(rng.IntN(spec.Outputs))
		}
	} else {
		t.Y = make([]float32, batch*spec.Outputs)
		for i := range t.Y {
			t.Y[i] = float32(rng.IntN(2))
		}
	}
	ctx := &nn.Ctx{Train: true, Rng: rng}
	ex := &nn.Examples{Model: m, Ctx: ctx, X: x, T: t, N: batch, Idx: make([]int, batch)}
	for i := range ex.Idx { // one batch, seen again every step (SAF's memory: one "epoch" a step)
		ex.Idx[i] = i
	}
	pass := func(m *nn.Model, ctx *nn.Ctx) sam.Loss {
		return func(w, g []float32, lo, hi int, second bool) float64 {
			ctx.Second = second
			tt := nn.Target{Traj: ex.Traj.Rows(lo, hi, spec.Outputs)}
			if t.Labels != nil {
				tt.Labels = t.Labels[lo:hi]
			} else {
				tt.Y = t.Y[lo*spec.Outputs : hi*spec.Outputs]
			}
			l, _ := m.Grad(ctx, w, g, x[lo*m.InDim():hi*m.InDim()], hi-lo, tt)
			return l
		}
	}
	loss := pass(m, ctx)
	var forks []sam.Loss
	if sc.M > 0 && sc.M < batch && tensor.Threads() > 1 { // m-sharpness's chunks at once, as training runs them
		ms, err := m.Forks(tensor.Threads() - 1)
		if err != nil {
			return nil, err
		}
		for _, f := range ms {
			forks = append(forks, pass(f, &nn.Ctx{Train: true}))
		}
		opt.SetForks(forks)
	}
	// With --augment each step copies the batch in and augments it, as training does.
	aug, err := train.NewAugmenter(augment, spec.Input, seed)
	if err != nil {
		return nil, err
	}
	orig := append([]float32(nil), x...)
	step := func() error {
		if aug != nil {
			copy(x, orig)
			aug.Apply(x, batch)
		}
		_, err := opt.StepExamples(w, batch, loss, ex, lr)
		return err
	}
	for range max(3, steps/10) {
		if err := step(); err != nil {
			return nil, fmt.Errorf("warm-up diverged (lower --lr): %v", err)
		}
	}
	if prof != nil {
		if err := pprof.StartCPUProfile(prof); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	barrier(comm)
	start := time.Now()
	for range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("benchmark diverged (lower --lr): %v", err)
		}
	}
	barrier(comm)
	sec := time.Since(start).Seconds()
	passes := benchPasses(sc)
	stepFlops := passes * 3 * 2 * float64(m.MACs()) * float64(batch)
	variant := sc.Variant
	if variant == "" {
		variant = "sam"
	}
	var augs []string
	for _, on := range []struct {
		name string
		on   bool
	}{{"crop", augment.Crop}, {"flip", augment.Flip}, {"cutout", augment.Cutout > 0}} {
		if on.on {
			augs = append(augs, on.name)
		}
	}
	return &benchResult{Model: spec.Model, Parameters: m.Layout.Size(), Batch: batch, Opt: oc.Name, Rho: sc.Rho, Variant: variant,
		Augment: strings.Join(augs, ","), Conv: spec.Conv, Threads: tensor.Threads(), Forks: len(forks), StepsPerSec: float64(steps) / sec,
		ExamplesPerSec: float64(steps*batch) / sec, GFLOPs: stepFlops * float64(steps) / sec / 1e9,
		Passes: passes, StepGFLOP: stepFlops / 1e9}, nil
}

// benchPasses is the number of forward-backward passes of one step of the member sc names, as
// its pass count ("sam variants") says: 1 for the base optimizer (ρ = 0, unless the member
// works at ρ = 0), 1 + k for SAM's k ascent steps, a forward pass alone a third of a pass.
func benchPasses(sc sam.Config) float64 {
	m, ok := sam.Lookup(sc.Variant)
	if !ok || (sc.Rho == 0 && !m.RhoFree) {
		return 1
	}
	switch m.Passes {
	case "k + 1": // Lookbehind-SAM
		return sc.Param(m.Name+"-k") + 1
	case "1 + 1/k": // LookSAM: a full SAM step every k-th step
		return 1 + 1/sc.Param(m.Name+"-k")
	case "1 + 1 forward": // MESA
		return 1 + 1.0/3
	case "2 forward, 1 + γ backward": // ESAM: γ of the examples in the second backward products
		return (2 + 2*(1+sc.Param(m.Name+"-gamma"))) / 3
	}
	if m.Name == "sam" {
		return 1 + float64(max(1, sc.AscentSteps))
	}
	n, err := strconv.Atoi(strings.Fields(m.Passes + " ?")[0]) // "2", "2 (independent)"
	if err != nil {
		panic(fmt.Sprintf("sam bench: no FLOP count for %s's passes %q", m.Name, m.Passes))
	}
	return float64(n)
}

// gemmGFLOPs is the best rate of reps n×n×n float32 GEMMs (tensor.Gemm, as bench/gemm) on threads
// threads, after one warm-up product.
func gemmGFLOPs(n, reps, threads int) float64 {
	prev := tensor.SetThreads(threads)
	defer tensor.SetThreads(prev)
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	tensor.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
	best := 0.0
	for range reps {
		t := time.Now()
		tensor.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		best = max(best, 2*float64(n)*float64(n)*float64(n)/time.Since(t).Seconds()/1e9)
	}
	return best
}

// parseImageShape reads HxWxC (such as 32x32x3) as [H, W, C].
func parseImageShape(s string) ([3]int, error) {
	var d [3]int
	parts := strings.Split(strings.ToLower(s), "x")
	if len(parts) != 3 {
		return d, fmt.Errorf("--image: want HxWxC such as 32x32x3, got %q", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 {
			return d, fmt.Errorf("--image: want HxWxC with positive sizes such as 32x32x3, got %q", s)
		}
		d[i] = v
	}
	return d, nil
}
