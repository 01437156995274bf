package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/tensor"
	"github.com/samgo/sam/train"
)

// measureFlags are the flags that `sam sharpness` and `sam landscape` share: which model, which
// data, which examples.
type measureFlags struct {
	model                 string
	data, dataDir, target string
	split                 string
	subset                int
	seed                  uint64
	batch                 int
	cacheMB               int
	out                   string
	threads               int
}

func (f *measureFlags) register(cmd *cobra.Command, subset int) {
	fl := cmd.Flags()
	fl.StringVar(&f.model, "model", "", "the checkpoint (model.safetensors written by sam train); required")
	fl.StringVar(&f.data, "data", "", "data set (default: the one the checkpoint was trained on, with the same splits and standardisation)")
	fl.StringVar(&f.dataDir, "data-dir", "", "directory with the IDX files of mnist / fashion-mnist (default: as in the checkpoint)")
	fl.StringVar(&f.target, "target", "", "csv: name of the target column (with --data csv:PATH)")
	fl.StringVar(&f.split, "split", "train", "split to measure on: train, val or test")
	fl.IntVar(&f.subset, "subset", subset, "number of examples, drawn from the split without replacement by --seed (all when larger than the split)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the subset and of the random vectors")
	fl.IntVar(&f.batch, "batch", 1000, "rows per forward/backward pass (does not change the results beyond rounding)")
	fl.StringVar(&f.out, "out", "", "output directory (default: the directory of --model)")
	fl.IntVar(&f.threads, "threads", 0, "worker threads for the kernels (0 = all cores)")
}

// registerCache adds --hvp-cache-mb (to the commands that compute Hessian-vector products).
func (f *measureFlags) registerCache(cmd *cobra.Command) {
	cmd.Flags().IntVar(&f.cacheMB, "hvp-cache-mb", int(sharpness.CacheLimit>>20), "memory (MiB) that exact Hessian-vector products may keep for the forward and backward passes at the weights, one set per --batch, so that products do not repeat them; batches beyond it are recomputed at every product (0: kept only when the set is a single batch)")
}

// objective is sharpness.NewObjective with the memory budget of --hvp-cache-mb.
func (f *measureFlags) objective(m *nn.Model, set *data.Set) (*sharpness.Objective, error) {
	o, err := sharpness.NewObjective(m, set, f.batch)
	if err != nil {
		return nil, err
	}
	o.Cache = int64(f.cacheMB) << 20
	if f.cacheMB == 0 {
		o.Cache = -1
	}
	return o, nil
}

func (f *measureFlags) check() error {
	if f.model == "" {
		return errors.New("--model: required (a model.safetensors written by sam train)")
	}
	switch f.split {
	case "train", "val", "test":
	default:
		return fmt.Errorf("--split: want train, val or test, got %q", f.split)
	}
	if f.subset <= 0 {
		return fmt.Errorf("--subset: must be > 0, got %d", f.subset)
	}
	if f.batch <= 0 {
		return fmt.Errorf("--batch: must be > 0, got %d", f.batch)
	}
	if f.threads < 0 {
		return fmt.Errorf("--threads: must be ≥ 0, got %d", f.threads)
	}
	if f.cacheMB < 0 {
		return fmt.Errorf("--hvp-cache-mb: must be ≥ 0, got %d", f.cacheMB)
	}
	if f.target != "" && !strings.HasPrefix(f.data, "csv:") {
		return errors.New("--target: only applies to --data csv:PATH")
	}
	return nil
}

// loaded is a checkpoint with the data it is measured on.
type loaded struct {
	path  string
	label string // a short name for tables and legends
	model *nn.Model
	w     []float32
	cfg   *train.Config
	pre   *train.Preprocess // nil in files written before it was saved
}

func loadCheckpoint(flag, path string) (*loaded, error) {
	ck, err := openModel(flag, path)
	if err != nil {
		return nil, err
	}
	return &loaded{path: path, label: modelLabel(path), model: ck.Model, w: ck.Weights, cfg: ck.Config, pre: ck.Pre}, nil
}

// modelLabel names a checkpoint: its directory for model.safetensors (runs/sgd/model.safetensors
// is "sgd"), else its file name without extension.
func modelLabel(path string) string {
	base := filepath.Base(path)
	if base == "model.safetensors" {
		if d := filepath.Base(filepath.Dir(path)); d != "." && d != "/" {
			return d
		}
	}
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// measureSet rebuilds the data of the checkpoint (or --data) and returns the seeded subset of the
// chosen split, with a one-line description.
func (f *measureFlags) measureSet(cmd *cobra.Command, l *loaded) (*data.Set, string, error) {
	changed := cmd.Flags().Changed
	var c train.Config
	switch {
	case l.cfg != nil:
		c = *l.cfg
	case f.data == "":
		return nil, "", fmt.Errorf("--data: %s carries no run config; name the data set", l.path)
	default:
		c = train.Config{Task: "classification", ValFraction: 0.1, TestFraction: 0.2, Standardize: true, Seed: 1}
		if l.model.Spec.Loss == "mse" {
			c.Task = "regression"
		}
	}
	if f.data != "" && f.data != c.Data {
		c.Data, c.DataDir, c.Target = f.data, "", f.target
		if f.data == "mnist" || f.data == "fashion-mnist" {
			c.TestFraction = 0
		}
	}
	if changed("data-dir") {
		c.DataDir = f.dataDir
	}
	c.Model = l.model.Spec
	c.Model.Input, c.Model.Outputs = nil, 0
	d, err := train.Prepare(&c)
	if err != nil {
		return nil, "", err
	}
	if d := c.Model.Input; fmt.Sprint(d) != fmt.Sprint(l.model.Spec.Input) {
		return nil, "", fmt.Errorf("--data %s: examples of shape %v, the model expects %v", c.Data, d, l.model.Spec.Input)
	}
	if c.Model.Outputs != l.model.Spec.Outputs {
		return nil, "", fmt.Errorf("--data %s: has %d outputs (classes), the model %d", c.Data, c.Model.Outputs, l.model.Spec.Outputs)
	}
	set := map[string]*data.Set{"train": d.Train, "val": d.Val, "test": d.Test}[f.split]
	if set.N() == 0 {
		return nil, "", fmt.Errorf("--split %s: the %s split of %s is empty for this run", f.split, f.split, c.Data)
	}
	sub, err := sharpness.Subset(set, f.subset, f.seed)
	if err != nil {
		return nil, "", err
	}
	desc := fmt.Sprintf("%s %s split, %d of %d examples (seed %d), evaluation mode", d.Name, f.split, sub.N(), set.N(), f.seed)
	return sub, desc, nil
}

func (f *measureFlags) outDir() (string, error) {
	out := f.out
	if out == "" {
		out = filepath.Dir(f.model)
	}
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return "", fmt.Errorf("--out: %s exists and is not a directory", out)
	}
	return out, nil
}

type sharpnessFlags struct {
	measureFlags
	rho, eps     float64
	m            int
	topK         int
	traceSamples int
	steps        int
	lanczos      int
	tol          float64
	method       string
	curvature    string
	traceMethod  string
	quiet        bool
	// eigenvalue density (stochastic Lanczos quadrature)
	densityProbes, densitySteps int
	densitySigma                float64
	// parameter subsets (bylayer.go)
	params  []string
	byLayer bool
	saveEig bool
}

// SharpnessReport is sharpness.json.
type SharpnessReport struct {
	Model          string                     `json:"model"`
	Architecture   string                     `json:"architecture"`
	Data           string                     `json:"data"`
	Split          string                     `json:"split"`
	Examples       int                        `json:"examples"`
	Seed           uint64                     `json:"seed"`
	Loss           float64                    `json:"loss"`
	Accuracy       *float64                   `json:"accuracy,omitempty"`
	HVP            string                     `json:"hvp_method"`
	Curvature      string                     `json:"curvature"`
	Params         []string                   `json:"params,omitempty"`
	Parameters     int                        `json:"parameters"`
	LambdaMax      float64                    `json:"lambda_max"`
	TopEigenvalues []float64                  `json:"top_eigenvalues"`
	EigenResiduals []float64                  `json:"eigen_residuals"`
	LanczosSteps   int                        `json:"lanczos_steps"`
	Converged      bool                       `json:"lanczos_converged"`
	Trace          *float64                   `json:"trace,omitempty"`
	TraceStdErr    *float64                   `json:"trace_stderr,omitempty"`
	TraceSamples   int                        `json:"trace_samples"`
	TraceHutchPP   *float64                   `json:"trace_hutchpp,omitempty"`
	TraceHPPStdErr *float64                   `json:"trace_hutchpp_stderr,omitempty"`
	Rho            float64                    `json:"rho"`
	SAMSharpness   float64                    `json:"sam_sharpness"`
	SAMOneStep     float64                    `json:"sam_sharpness_one_step"`
	M              int                        `json:"m,omitempty"`
	MSharpness     *float64                   `json:"m_sharpness,omitempty"`
	Eps            float64                    `json:"eps"`
	EpsSharpness   float64                    `json:"eps_sharpness"`
	AscentSteps    int                        `json:"ascent_steps"`
	Density        *DensityReport             `json:"density,omitempty"`
	Eigenvectors   []string                   `json:"eigenvector_files,omitempty"`
	ByLayer        []sharpness.LayerCurvature `json:"by_layer,omitempty"`
	Seconds        float64                    `json:"seconds"`
}

// DensityReport is the Hessian's eigenvalue density by stochastic Lanczos quadrature: the
// quadrature nodes and weights (weights sum to 1), and the Gaussian width of density.csv/png.
type DensityReport struct {
	Probes  int       `json:"probes"`
	Steps   int       `json:"steps"`
	Sigma   float64   `json:"sigma"`
	Nodes   []float64 `json:"nodes"`
	Weights []float64 `json:"weights"`
}

func newSharpnessCmd(stdout, stderr io.Writer) *cobra.Command {
	var f sharpnessFlags
	cmd := &cobra.Command{
		Use:   "sharpness",
		Short: "Measure the sharpness of a trained model: Hessian spectrum, trace, SAM and ε-sharpness",
		Long: `Measure how sharp the loss is around a trained model's weights, on a fixed seeded subset of
a split, in evaluation mode (definitions: SAM.md, "Sharpness measures"):

  lambda_max, top eigenvalues  of the Hessian, by Lanczos on exact Hessian-vector products
  trace                        Hutchinson's estimate with Rademacher vectors (± its standard error)
  sam_sharpness                max over ‖ε‖₂ ≤ ρ of L(w+ε) − L(w), by projected normalised
                               gradient ascent (a lower bound; the first step is SAM's own ε)
  m_sharpness                  the same averaged over disjoint batches of --m examples
  density (--density-probes)   the eigenvalue density by stochastic Lanczos quadrature
                               (Ghorbani et al. 2019), smoothed with Gaussians: density.csv, density.png
  eps_sharpness                Keskar et al.: 100·(max L(w+y) − L(w))/(1+L(w)) over the box
                               |yᵢ| ≤ ε(|wᵢ|+1), by projected sign-gradient ascent

The data default to the checkpoint's own (same splits and standardisation). Prints a table and
writes sharpness.json to --out.`,
		Example: `  sam sharpness --model runs/sam/model.safetensors --subset 10000 --rho 0.05 --out runs/sam
  sam sharpness --model runs/sgd/model.safetensors --split test --top-k 5 --trace-samples 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSharpness(cmd, &f, stdout, stderr)
		},
	}
	f.register(cmd, 10000)
	f.registerCache(cmd)
	fl := cmd.Flags()
	fl.Float64Var(&f.rho, "rho", 0.05, "radius ρ of the SAM sharpness")
	fl.IntVar(&f.m, "m", 0, "also measure m-sharpness over disjoint batches of m examples (0 = off)")
	fl.Float64Var(&f.eps, "eps", 1e-3, "ε of the ε-sharpness box")
	fl.IntVar(&f.steps, "steps", 10, "gradient-ascent steps of the SAM and ε-sharpness maximisations")
	fl.IntVar(&f.topK, "top-k", 3, "number of top Hessian eigenvalues")
	fl.IntVar(&f.lanczos, "lanczos-steps", 100, "most Lanczos steps (Hessian-vector products)")
	fl.Float64Var(&f.tol, "tol", 1e-3, "Lanczos stops when each top-k Ritz residual is below tol·λ_max")
	fl.IntVar(&f.traceSamples, "trace-samples", 20, "Rademacher vectors of the Hutchinson trace, and products of Hutch++ (0 = skip the trace)")
	fl.StringVar(&f.method, "hvp", "auto", "Hessian-vector products: exact (R-operator), fd (finite differences of gradients) or auto")
	fl.StringVar(&f.traceMethod, "trace-method", "both", "trace estimator: hutchinson, hutch++ (Meyer et al. 2021: a sketch of the top of the spectrum plus Hutchinson on the rest) or both, each with --trace-samples products")
	fl.StringVar(&f.curvature, "curvature", "hessian", "the matrix of λ, trace, density and --by-layer: hessian, ggn (generalised Gauss-Newton Jᵀ∇²_z L J) or fisher (empirical Fisher, mean of per-example gradient outer products); ggn and fisher use exact products")
	fl.IntVar(&f.densityProbes, "density-probes", 0, "Rademacher probes of the eigenvalue density (0 = skip it)")
	fl.IntVar(&f.densitySteps, "density-steps", 80, "Lanczos steps per density probe")
	fl.Float64Var(&f.densitySigma, "density-sigma", 0, "Gaussian width of the smoothed density (0 = 1% of the range of the nodes)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	f.registerSubsets(cmd)
	return cmd
}

func parseMethod(s string) (sharpness.Method, error) {
	switch s {
	case "auto":
		return sharpness.Auto, nil
	case "exact":
		return sharpness.Exact, nil
	case "fd":
		return sharpness.FiniteDiff, nil
	}
	return 0, fmt.Errorf("--hvp: want auto, exact or fd, got %q", s)
}

func positive(flag string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return fmt.Errorf("%s: must be a finite number > 0, got %g", flag, v)
	}
	return nil
}

func (f *sharpnessFlags) check() error {
	if err := f.measureFlags.check(); err != nil {
		return err
	}
	if err := positive("--rho", f.rho); err != nil {
		return err
	}
	if err := positive("--eps", f.eps); err != nil {
		return err
	}
	if err := positive("--tol", f.tol); err != nil {
		return err
	}
	switch {
	case f.m < 0:
		return fmt.Errorf("--m: must be ≥ 0, got %d", f.m)
	case f.steps < 1:
		return fmt.Errorf("--steps: must be ≥ 1, got %d", f.steps)
	case f.topK < 1:
		return fmt.Errorf("--top-k: must be ≥ 1, got %d", f.topK)
	case f.lanczos < f.topK:
		return fmt.Errorf("--lanczos-steps: must be ≥ --top-k (%d), got %d", f.topK, f.lanczos)
	case f.traceSamples < 0:
		return fmt.Errorf("--trace-samples: must be ≥ 0, got %d", f.traceSamples)
	case f.densityProbes < 0:
		return fmt.Errorf("--density-probes: must be ≥ 0, got %d", f.densityProbes)
	case f.densitySteps < 2:
		return fmt.Errorf("--density-steps: must be ≥ 2, got %d", f.densitySteps)
	case math.IsNaN(f.densitySigma) || math.IsInf(f.densitySigma, 0) || f.densitySigma < 0:
		return fmt.Errorf("--density-sigma: must be a finite number ≥ 0 (0 = automatic), got %g", f.densitySigma)
	}
	switch f.traceMethod {
	case "hutchinson", "both":
	case "hutch++":
		if f.traceSamples > 0 && f.traceSamples < 3 {
			return fmt.Errorf("--trace-samples: Hutch++ needs ≥ 3 products, got %d", f.traceSamples)
		}
	default:
		return fmt.Errorf("--trace-method: want hutchinson, hutch++ or both, got %q", f.traceMethod)
	}
	if _, err := sharpness.ParseCurvature(f.curvature); err != nil {
		return err
	}
	m, err := parseMethod(f.method)
	if err == nil && m == sharpness.FiniteDiff && f.curvature != "hessian" {
		return fmt.Errorf("--hvp fd: gives only Hessian products; --curvature %s is computed exactly", f.curvature)
	}
	return err
}

func runSharpness(cmd *cobra.Command, f *sharpnessFlags, stdout, stderr io.Writer) error {
	if err := f.check(); err != nil {
		return usage(err)
	}
	method, _ := parseMethod(f.method)
	l, err := loadCheckpoint("--model", f.model)
	if err != nil {
		return usage(err)
	}
	out, err := f.outDir()
	if err != nil {
		return usage(err)
	}
	set, desc, err := f.measureSet(cmd, l)
	if err != nil {
		return usage(err)
	}
	obj, err := f.objective(l.model, set)
	if err != nil {
		return usage(err)
	}
	spans, err := f.selectSpans(l)
	if err != nil {
		return usage(err)
	}
	dim := spanSize(spans)
	if f.topK > dim {
		return usage(fmt.Errorf("--top-k: the measured parameters number only %d", dim))
	}
	tensor.SetThreads(f.threads)
	logf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sam: "+format+"\n", a...)
		}
	}
	start := time.Now()
	logf("%s on %s", l.model.Describe(), desc)

	r := SharpnessReport{Model: f.model, Architecture: l.model.Describe(), Data: desc, Split: f.split,
		Examples: set.N(), Seed: f.seed, Params: f.params, Parameters: dim, Rho: f.rho, Eps: f.eps, M: f.m, AscentSteps: f.steps, TraceSamples: f.traceSamples}
	loss, acc := obj.Loss(l.w)
	r.Loss = loss
	if set.IsClassification() {
		r.Accuracy = &acc
	}
	curv, _ := sharpness.ParseCurvature(f.curvature)
	h, err := sharpness.NewCurvature(obj, l.w, method, curv)
	if err != nil {
		flag := "--hvp"
		if curv != sharpness.HessianCurvature {
			flag = "--curvature " + f.curvature
		}
		return usage(fmt.Errorf("%s: %v", flag, err))
	}
	r.HVP, r.Curvature = h.Method().String(), f.curvature
	op, err := restrict(h, spans, len(f.params) > 0)
	if err != nil {
		return err
	}
	eig, err := sharpness.TopEigen(op, f.topK, sharpness.LanczosOptions{MaxIter: f.lanczos, Tol: f.tol, Seed: f.seed, Vectors: f.saveEig})
	if err != nil {
		return err
	}
	r.LambdaMax, r.TopEigenvalues, r.EigenResiduals = eig.Values[0], eig.Values, eig.Residuals
	r.LanczosSteps, r.Converged = eig.Iterations, eig.Converged
	logf("λ_max %.5g after %d Lanczos steps (%.1fs)", r.LambdaMax, eig.Iterations, time.Since(start).Seconds())
	if f.traceSamples > 0 && f.traceMethod != "hutch++" {
		tr, err := sharpness.Trace(op, f.traceSamples, f.seed)
		if err != nil {
			return err
		}
		r.Trace, r.TraceStdErr = &tr.Trace, &tr.StdErr
		logf("trace %.5g ± %.2g (%.1fs)", tr.Trace, tr.StdErr, time.Since(start).Seconds())
	}
	if f.traceSamples >= 3 && f.traceMethod != "hutchinson" {
		tr, err := sharpness.HutchPP(op, f.traceSamples, f.seed)
		if err != nil {
			return err
		}
		r.TraceHutchPP, r.TraceHPPStdErr = &tr.Trace, &tr.StdErr
		logf("trace (Hutch++) %.5g ± %.2g (%.1fs)", tr.Trace, tr.StdErr, time.Since(start).Seconds())
	}
	var density sharpness.Density
	if f.densityProbes > 0 {
		if density, err = sharpness.SpectralDensity(op, f.densitySteps, f.densityProbes, f.seed); err != nil {
			return err
		}
		r.Density = &DensityReport{Probes: f.densityProbes, Steps: f.densitySteps, Sigma: f.densitySigma,
			Nodes: density.Nodes, Weights: density.Weights}
		logf("eigenvalue density: %d nodes (%.1fs)", len(density.Nodes), time.Since(start).Seconds())
	}
	if f.byLayer {
		if r.ByLayer, err = sharpness.ByLayer(h, spans, sharpness.LanczosOptions{MaxIter: f.lanczos, Tol: f.tol, Seed: f.seed}, f.traceSamples); err != nil {
			return err
		}
		logf("by layer: %d tensors (%.1fs)", len(r.ByLayer), time.Since(start).Seconds())
	}
	opt := sharpness.AscentOptions{Steps: f.steps, Seed: f.seed, Mask: spanMask(spans, len(l.w), len(f.params) > 0)}
	sam, err := sharpness.SAMSharpness(obj, l.w, f.rho, opt)
	if err != nil {
		return usage(err)
	}
	r.SAMSharpness, r.SAMOneStep = sam.Sharpness, sam.OneStep
	if f.m > 0 {
		ms, err := sharpness.MSharpness(obj, l.w, f.rho, f.m, opt)
		if err != nil {
			return usage(err)
		}
		r.MSharpness = &ms.Sharpness
	}
	es, err := sharpness.EpsSharpness(obj, l.w, f.eps, opt)
	if err != nil {
		return usage(err)
	}
	r.EpsSharpness = es.Sharpness
	r.Seconds = time.Since(start).Seconds()

	if err := os.MkdirAll(out, 0o755); err != nil {
		return usage(fmt.Errorf("--out: %v", err))
	}
	if f.saveEig {
		if r.Eigenvectors, err = saveEigenvectors(out, l, op, eig, &r); err != nil {
			return err
		}
	}
	if r.ByLayer != nil {
		if err := writeByLayer(out, l.label, r.Curvature, r.ByLayer, f.traceSamples > 0); err != nil {
			return err
		}
	}
	if r.Density != nil {
		if r.Density.Sigma, err = writeDensity(out, density, f.densitySigma); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(out, "sharpness.json")
	if err := atomic.WriteBytes(path, append(js, '\n')); err != nil {
		return err
	}
	printSharpness(stdout, &r, path)
	return nil
}

func printSharpness(w io.Writer, r *SharpnessReport, path string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s (%s)\n", r.Model, r.Architecture)
	if len(r.Params) > 0 {
		fmt.Fprintf(tw, "params\t%s\t(%d parameters: every measure is of the loss in those alone, the others fixed)\n", strings.Join(r.Params, ","), r.Parameters)
	}
	fmt.Fprintf(tw, "data\t%s\n", r.Data)
	if r.Accuracy != nil {
		fmt.Fprintf(tw, "loss\t%.5g\t(accuracy %.2f%%)\n", r.Loss, 100**r.Accuracy)
	} else {
		fmt.Fprintf(tw, "loss\t%.5g\n", r.Loss)
	}
	conv := ""
	if !r.Converged {
		conv = ", not converged: raise --lanczos-steps"
	}
	fmt.Fprintf(tw, "lambda_max\t%.5g\t(%s; Lanczos, %d %s products, residual %.1g%s)\n", r.LambdaMax, curvatureName(r.Curvature), r.LanczosSteps, r.HVP, r.EigenResiduals[0], conv)
	top := make([]string, len(r.TopEigenvalues))
	for i, v := range r.TopEigenvalues {
		top[i] = fmt.Sprintf("%.5g", v)
	}
	fmt.Fprintf(tw, "top_eigenvalues\t%s\n", strings.Join(top, "  "))
	if r.Trace != nil {
		fmt.Fprintf(tw, "trace\t%.5g ± %.2g\t(Hutchinson, %d Rademacher vectors)\n", *r.Trace, *r.TraceStdErr, r.TraceSamples)
	}
	if r.TraceHutchPP != nil {
		fmt.Fprintf(tw, "trace_hutchpp\t%.5g ± %.2g\t(Hutch++, %d products)\n", *r.TraceHutchPP, *r.TraceHPPStdErr, r.TraceSamples)
	}
	fmt.Fprintf(tw, "sam_sharpness\t%.5g\t(ρ = %g, %d ascent steps; SAM's one step gives %.5g)\n", r.SAMSharpness, r.Rho, r.AscentSteps, r.SAMOneStep)
	if r.MSharpness != nil {
		fmt.Fprintf(tw, "m_sharpness\t%.5g\t(m = %d)\n", *r.MSharpness, r.M)
	}
	fmt.Fprintf(tw, "eps_sharpness\t%.5g\t(ε = %g)\n", r.EpsSharpness, r.Eps)
	if d := r.Density; d != nil {
		lo, hi := slices.Min(d.Nodes), slices.Max(d.Nodes)
		fmt.Fprintf(tw, "density\t%d nodes in [%.4g, %.4g]\t(%d probes × %d Lanczos steps, σ = %.3g: density.csv, density.png)\n",
			len(d.Nodes), lo, hi, d.Probes, d.Steps, d.Sigma)
	}
	for _, p := range r.Eigenvectors {
		fmt.Fprintf(tw, "eigenvector\t%s\n", p)
	}
	fmt.Fprintf(tw, "written\t%s (%.1fs)\n", path, r.Seconds)
	tw.Flush()
	printByLayer(w, r.ByLayer)
}

// writeDensity writes the smoothed eigenvalue density on 400 points spanning the nodes ± 5σ as
// density.csv and plots it (log scale) as density.png; sigma 0 means 1% of the nodes' range.
// It returns the σ used.
func writeDensity(dir string, d sharpness.Density, sigma float64) (float64, error) {
	lo, hi := slices.Min(d.Nodes), slices.Max(d.Nodes)
	if sigma == 0 {
		sigma = max(0.01*(hi-lo), 1e-6*max(math.Abs(lo), math.Abs(hi), 1))
	}
	x := sharpness.Linspace(lo-5*sigma, hi+5*sigma, 400)
	y := d.Smooth(x, sigma)
	rows := [][]string{{"eigenvalue", "density"}}
	plotY := make([]float64, len(y))
	top := slices.Max(y)
	for i := range x {
		rows = append(rows, []string{fmtF(x[i]), fmtF(y[i])})
		plotY[i] = max(y[i], 1e-7*top) // the log axis needs values > 0
	}
	if err := writeCSV(filepath.Join(dir, "density.csv"), rows); err != nil {
		return 0, err
	}
	lp := report.LinePlot{Title: "Hessian eigenvalue density (log scale, floored at 1e-7 of the peak)", XLabel: "eigenvalue", YLabel: "density",
		Series: []report.Series{{X: x, Y: plotY}}, LogY: true}
	return sigma, lp.Write(filepath.Join(dir, "density.png"))
}
