package sam

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// Gonum is SAM as a method of gonum's optimize package (float64), for any objective with a
// gradient: a hand-written model, a simulation, one of optimize/functions. It runs the same
// step as Optimizer (SAM.md, Alg. 1) with the problem's Func and Grad:
//
//	settings := &optimize.Settings{MajorIterations: 5000, Converger: optimize.NeverTerminate{}}
//	res, err := optimize.Minimize(problem, x0, settings, &sam.Gonum{
//		Config: sam.Config{Rho: 0.05},
//		Base:   optim.Config{Name: "sgd", Momentum: 0.9},
//		LR:     1e-3,
//	})
//
// Each step evaluates f and ∇f at x (reported to gonum as a major iteration: Result.X is the last
// iterate, with its exact f and ∇f), then ∇f at the ascent point x+ε, and lets the base step rule
// move x with that gradient (plus the L2 term λx). That is one Func and two Grad evaluations per
// step (ρ = 0: one of each, the base rule alone; k ascent steps: 1 + k gradients; LookSAM:
// 1 + 1/k on average). Between major iterations the task's location
// holds x+ε and ∇f(x+ε) beside f(x): a Recorder should read the MajorIteration records.
// Minimize's own stopping rules (Settings: thresholds, limits, Converger; Problem.Status) apply
// as to any method, and InitValues spare the first evaluation.
//
// Members. Config.Variant "" (or "sam": any p > 1, ASAM, multi-step ascent), "usam" (ε = ρ·g),
// "gsam" (g_p − α·g_⊥; ρ follows the learning rate between Config.LRMin and LRMax when they
// differ) and "looksam" (full SAM every k-th step) run here; every one of their settings means
// what it means for Optimizer. The others need what a Problem does not have, and are refused:
// m-sharpness (Config.M) and ESAM's data selection need the examples of a mini-batch,
// SAM-ON needs normalisation layers, and ESAM's random masks alone are a saving for large
// networks that a float64 objective does not need.
//
// Weights. ASAM's T = |x|+η, the L2 term and decoupled weight decay act on weight coordinates.
// Layout says which coordinates are weights (its Weight spans); nil makes every coordinate a
// weight. ASAM suits objectives whose coordinates are weights of a model (its scale invariance
// is about rescaling a weight and the input it multiplies); for a plain test function it is just
// a coordinate-wise rescaling of ε.
//
// Learning rate. With a constant η, SAM (p = 2) does not settle at a strict minimum x*: near it
// ε has length ρ whatever the distance to x*, and gradient descent ends in a 2-cycle
// x* ± ηλρ/(2−ηλ)·v along the Hessian's top eigenvector v (eigenvalue λ). gonum's default
// Converger stops such a run (no gain in f over 100 iterations); it also stops SAM while it
// trades f for flatness, so with a fixed budget prefer optimize.NeverTerminate{} and
// Settings.MajorIterations. A decaying LRAt, or USAM, reaches x* itself where the minimum is
// flat enough; in a valley whose curvature changes along it (Rosenbrock's), SAM stops on the
// flatter side of x* (see RESULTS.md).
//
// Stochastic objectives. A Grad that samples a mini-batch would see a different batch at x and
// at x+ε, which is not SAM. Draw the batch in NextBatch instead, and let Func and Grad read the
// current one: the method calls NextBatch(t) before step t's first evaluation, so f(x), ∇f(x) and
// ∇f(x+ε) of a step share it. Evaluations are sequential (Init asks for one task), and the channel
// hand-offs order NextBatch before them. f is then a batch loss: set Settings.Converger to
// optimize.NeverTerminate{} and stop by Settings.MajorIterations.
//
// Errors (invalid settings, a dimension that does not match Layout, a non-finite f or gradient)
// end the run with status optimize.Failure and a one-line error, which Minimize returns.
type Gonum struct {
	// Config holds ρ, p, ASAM (Adaptive, Eta), L2, AscentSteps and the member (Variant) with its
	// settings (Params), as for Optimizer. The zero value is the base rule alone (ρ = 0).
	Config Config
	// Base is the base step rule, as for Optimizer: Name "sgd" (the default when empty;
	// Momentum, Nesterov), "adam" or "adamw" (Beta1, Beta2, Eps), with WeightDecay and Clip.
	Base optim.Config
	// LR is the learning rate η > 0. It has no default: a fixed step must suit the problem's
	// curvature (η < 2/λ_max for gradient descent).
	LR float64
	// LRAt, when not nil, gives the learning rate of step t (0, 1, ...) instead of LR, for
	// example an optim.Schedule: func(t int) float64 { return s.LR(0.01, t, 1000) }.
	LRAt func(t int) float64
	// Layout, when not nil, names the spans of x; only its Weight spans take ASAM's scaling,
	// the L2 term and weight decay. Its size must be the problem's dimension.
	Layout *param.Layout
	// NextBatch, when not nil, is called before step t's first evaluation (t = 0, 1, ...):
	// a stochastic objective draws its mini-batch here (see the type's documentation).
	NextBatch func(t int)

	status optimize.Status
	err    error

	cfg    Config
	weight []bool    // coordinate i is a weight
	base   base64    // the base step rule
	x, g   []float64 // the iterate and the gradient at it
	eps    []float64 // ε (multi-step ascent)
	xp     []float64 // a copy of x+ε
	d      []float64 // the update direction
	gv     []float64 // LookSAM's g_v
	haveGV bool
	normGV float64
}

var (
	_ optimize.Method   = (*Gonum)(nil)
	_ optimize.Statuser = (*Gonum)(nil)
)

// gonumMembers are the members that Gonum runs.
var gonumMembers = map[string]bool{"": true, "sam": true, "usam": true, "gsam": true, "looksam": true}

// Validate reports the first invalid setting as a one-line error; Minimize returns the same
// error (with status optimize.Failure) when the run starts.
func (m *Gonum) Validate() error {
	if err := m.Config.Validate(); err != nil {
		return fmt.Errorf("sam: Gonum.Config: %w", err)
	}
	c := m.Config
	switch {
	case !gonumMembers[c.Variant]:
		return fmt.Errorf("sam: Gonum.Config.Variant %q: not for a gonum problem (want sam, usam, gsam or looksam)", c.Variant)
	case c.M > 0:
		return errors.New("sam: Gonum.Config.M: m-sharpness needs the examples of a mini-batch, which a gonum problem does not have")
	}
	b := m.baseConfig()
	if err := b.Validate(); err != nil {
		return fmt.Errorf("sam: Gonum.Base: %w", err)
	}
	if m.LRAt == nil && (!(m.LR > 0) || math.IsInf(m.LR, 1)) {
		return fmt.Errorf("sam: Gonum.LR: must be a finite number > 0, got %g", m.LR)
	}
	return nil
}

func (m *Gonum) baseConfig() optim.Config {
	b := m.Base
	if b.Name == "" {
		b.Name = "sgd"
	}
	return b
}

// Uses implements optimize.Method: Gonum needs the gradient.
func (*Gonum) Uses(has optimize.Available) (optimize.Available, error) {
	if !has.Grad {
		return optimize.Available{}, optimize.ErrMissingGrad
	}
	return optimize.Available{Grad: true}, nil
}

// Init implements optimize.Method. Gonum evaluates one point at a time (a step's evaluations
// depend on each other), so it asks for one task.
func (m *Gonum) Init(dim, tasks int) int {
	m.status, m.err = optimize.NotTerminated, nil
	return 1
}

// Status implements optimize.Statuser.
func (m *Gonum) Status() (optimize.Status, error) { return m.status, m.err }

// Run implements optimize.Method.
func (m *Gonum) Run(operation chan<- optimize.Task, result <-chan optimize.Task, tasks []optimize.Task) {
	m.status, m.err = m.run(operation, result, tasks[0])
	close(operation)
}

// errStopped says that Minimize ended the run (convergence, a limit) during a step.
var errStopped = errors.New("stopped")

func (m *Gonum) run(operation chan<- optimize.Task, result <-chan optimize.Task, task optimize.Task) (optimize.Status, error) {
	exec := func(op optimize.Operation) error {
		task.Op = op
		operation <- task
		r := <-result
		if r.Op == optimize.PostIteration {
			return errStopped
		}
		task = r
		return nil
	}
	end := func(err error) (optimize.Status, error) {
		if err == errStopped { // Minimize decided; drain the results
			for range result {
			}
			return optimize.NotTerminated, nil
		}
		task.Op = optimize.MethodDone
		operation <- task
		for range result {
		}
		return optimize.Failure, err
	}
	if err := m.setup(len(task.X)); err != nil {
		return end(err)
	}
	// grad evaluates ∇f at x (copied into the task's location) and returns it.
	grad := func(x []float64) ([]float64, error) {
		copy(task.X, x)
		if err := exec(optimize.GradEvaluation); err != nil {
			return nil, err
		}
		if i := nonFinite(task.Gradient); i >= 0 {
			return nil, fmt.Errorf("%w: ∇f(x+ε)[%d] = %g", ErrNonFinite, i, task.Gradient[i])
		}
		return task.Gradient, nil
	}
	m.batch(0)
	const fg = optimize.FuncEvaluation | optimize.GradEvaluation
	if need := fg &^ task.Op; need != 0 { // InitValues may give f, ∇f at x0
		if err := exec(need); err != nil {
			return end(err)
		}
	}
	for t := 0; ; t++ {
		if math.IsNaN(task.F) || math.IsInf(task.F, 0) {
			return end(fmt.Errorf("%w: f(x) = %g at step %d", ErrNonFinite, task.F, t))
		}
		if i := nonFinite(task.Gradient); i >= 0 {
			return end(fmt.Errorf("%w: ∇f(x)[%d] = %g at step %d", ErrNonFinite, i, task.Gradient[i], t))
		}
		if err := exec(optimize.MajorIteration); err != nil {
			return end(err)
		}
		copy(m.x, task.X)
		copy(m.g, task.Gradient)
		lr := m.lrAt(t)
		if math.IsNaN(lr) || math.IsInf(lr, 0) || lr < 0 {
			return end(fmt.Errorf("sam: Gonum.LRAt(%d) = %g: must be a finite number ≥ 0", t, lr))
		}
		d, err := m.direction(t, lr, grad)
		if err != nil {
			return end(err)
		}
		if lam := m.cfg.L2; lam != 0 {
			for i, x := range m.x {
				if m.weight[i] {
					d[i] += lam * x
				}
			}
		}
		m.base.step(m.x, d, lr)
		m.batch(t + 1)
		copy(task.X, m.x)
		if err := exec(fg); err != nil {
			return end(err)
		}
	}
}

func (m *Gonum) batch(t int) {
	if m.NextBatch != nil {
		m.NextBatch(t)
	}
}

func (m *Gonum) lrAt(t int) float64 {
	if m.LRAt != nil {
		return m.LRAt(t)
	}
	return m.LR
}

// setup validates the settings for a problem of dimension n and resets the state.
func (m *Gonum) setup(n int) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.cfg = m.Config.withDefaults()
	m.weight = make([]bool, n)
	if m.Layout == nil {
		for i := range m.weight {
			m.weight[i] = true
		}
	} else {
		if m.Layout.Size() != n {
			return fmt.Errorf("sam: Gonum.Layout has %d coordinates, the problem %d", m.Layout.Size(), n)
		}
		for _, s := range m.Layout.Spans {
			for i := s.Off; i < s.End(); i++ {
				m.weight[i] = s.Kind == param.Weight
			}
		}
	}
	b := m.baseConfig()
	wd := b.WeightDecay // as optim.New: "adamw" is "adam" with WeightDecay
	switch b.Name {
	case "sgd":
		m.base = &sgd64{mu: b.Momentum, nesterov: b.Nesterov}
	default:
		m.base = &adam64{b1: or(b.Beta1, 0.9), b2: or(b.Beta2, 0.999), eps: or(b.Eps, 1e-8)}
	}
	m.base = &decay64{wd: wd, weight: m.weight, clip: b.Clip, next: m.base}
	m.x, m.g = make([]float64, n), make([]float64, n)
	m.xp, m.d, m.eps = make([]float64, n), make([]float64, n), make([]float64, n)
	m.gv, m.haveGV, m.normGV = make([]float64, n), false, 0
	return nil
}

func or(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// direction returns the gradient that the base rule steps with at step t, from the gradient
// m.g at m.x and the gradients that grad evaluates.
func (m *Gonum) direction(t int, lr float64, grad func([]float64) ([]float64, error)) ([]float64, error) {
	c := &m.cfg
	d := m.d
	if c.Rho == 0 {
		copy(d, m.g)
		return d, nil
	}
	switch c.Variant {
	case "gsam":
		rho := c.Rho
		if c.LRMax > c.LRMin {
			rhoMin := c.Param("rho-min")
			rho = rhoMin + (c.Rho-rhoMin)*(lr-c.LRMin)/(c.LRMax-c.LRMin)
		}
		gp, err := m.ascend(rho, grad)
		if err != nil {
			return nil, err
		}
		alpha := c.Param("gsam-alpha")
		k := project64(m.g, gp)
		for i, x := range gp {
			d[i] = x - alpha*(m.g[i]-k*x)
		}
		return d, nil
	case "looksam":
		k := int(c.Param("looksam-k"))
		if t%k == 0 || !m.haveGV {
			gs, err := m.ascend(c.Rho, grad)
			if err != nil {
				return nil, err
			}
			copy(d, gs)
			if k > 1 {
				p := project64(gs, m.g)
				var nn float64
				for i, x := range gs {
					m.gv[i] = x - p*m.g[i]
					nn += m.gv[i] * m.gv[i]
				}
				m.haveGV, m.normGV = true, math.Sqrt(nn)
			}
			return d, nil
		}
		copy(d, m.g)
		if m.normGV > 0 {
			a := c.Param("looksam-alpha") * norm2(m.g) / m.normGV
			for i, v := range m.gv {
				d[i] += a * v
			}
		}
		return d, nil
	}
	gs, err := m.ascend(c.Rho, grad)
	if err != nil {
		return nil, err
	}
	copy(d, gs)
	return d, nil
}

// ascend returns the gradient at the ascent point x+ε for radius rho: one step ε = ρ·ĝ(x), or
// with AscentSteps k the projected steps ε ← Proj(ε + (ρ/k)·ĝ(x+ε)), as Step.Ascend. The slice
// is the task's and is valid until the next evaluation.
func (m *Gonum) ascend(rho float64, grad func([]float64) ([]float64, error)) ([]float64, error) {
	k := m.cfg.AscentSteps
	g := m.g
	if k <= 1 {
		m.perturb(m.xp, m.x, g, rho)
		return grad(m.xp)
	}
	clear(m.eps)
	for range k {
		m.perturb(m.eps, m.eps, g, rho/float64(k))
		m.projectEps(rho)
		for i, e := range m.eps {
			m.xp[i] = m.x[i] + e
		}
		var err error
		if g, err = grad(m.xp); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// t is ASAM's scale of coordinate i: |x_i|+η on weights, else 1.
func (m *Gonum) t(i int) float64 {
	if m.cfg.Adaptive && m.weight[i] {
		return math.Abs(m.x[i]) + m.cfg.Eta
	}
	return 1
}

// perturb writes base + ε(g) into dst for radius rho (Perturbation.Apply in float64).
func (m *Gonum) perturb(dst, base, g []float64, rho float64) {
	p := m.cfg.P
	switch {
	case m.cfg.Variant == "usam": // ρ·T²g
		for i, x := range g {
			t := m.t(i)
			dst[i] = base[i] + rho*t*t*x
		}
	case p == 2:
		var sum float64
		for i, x := range g {
			z := m.t(i) * x
			sum += z * z
		}
		c := rho / (math.Sqrt(sum) + 1e-12)
		for i, x := range g {
			t := m.t(i)
			dst[i] = base[i] + c*t*t*x
		}
	case math.IsInf(p, 1):
		for i, x := range g {
			switch {
			case x > 0:
				dst[i] = base[i] + rho*m.t(i)
			case x < 0:
				dst[i] = base[i] - rho*m.t(i)
			default:
				dst[i] = base[i]
			}
		}
	default:
		q := p / (p - 1)
		var sum float64
		for i, x := range g {
			sum += math.Pow(math.Abs(m.t(i)*x), q)
		}
		var c float64
		if sum > 0 {
			c = rho / math.Pow(sum, 1/p)
		}
		for i, x := range g {
			t := m.t(i)
			z := t * x
			dst[i] = base[i] + c*t*math.Copysign(math.Pow(math.Abs(z), q-1), z)
		}
	}
}

// projectEps maps m.eps onto the ball ‖ε/T‖_p ≤ ρ (p = 2 or ∞), as Perturbation.Project.
func (m *Gonum) projectEps(rho float64) {
	if math.IsInf(m.cfg.P, 1) {
		for i, e := range m.eps {
			r := rho * m.t(i)
			m.eps[i] = max(-r, min(r, e))
		}
		return
	}
	var sum float64
	for i, e := range m.eps {
		z := e / m.t(i)
		sum += z * z
	}
	if n := math.Sqrt(sum); n > rho {
		f := rho / n
		for i := range m.eps {
			m.eps[i] *= f
		}
	}
}

// project64 returns a·b/‖b‖² (0 when b = 0).
func project64(a, b []float64) float64 {
	var ab, bb float64
	for i, x := range b {
		ab += a[i] * x
		bb += x * x
	}
	if bb == 0 {
		return 0
	}
	return ab / bb
}

func norm2(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// nonFinite returns the index of the first NaN or infinite element of v, or −1.
func nonFinite(v []float64) int {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}

// base64 is a base step rule in float64, with optim's (PyTorch's) conventions.
type base64 interface {
	step(x, g []float64, lr float64)
}

// decay64 clips g to a global norm (optim.ClipGlobalNorm) and applies decoupled weight decay
// x ← x − lr·wd·x on weights, then steps with next.
type decay64 struct {
	wd     float64
	weight []bool
	clip   float64
	next   base64
}

func (o *decay64) step(x, g []float64, lr float64) {
	if o.clip > 0 {
		if n := norm2(g); n > o.clip {
			f := o.clip / (n + 1e-6)
			for i := range g {
				g[i] *= f
			}
		}
	}
	if o.wd != 0 {
		f := 1 - lr*o.wd
		for i := range x {
			if o.weight[i] {
				x[i] *= f
			}
		}
	}
	o.next.step(x, g, lr)
}

// sgd64 is optim.SGD: v ← μv + g (v₁ = g₁), x ← x − η·v; Nesterov x ← x − η(g + μv).
type sgd64 struct {
	mu       float64
	nesterov bool
	v        []float64
}

func (o *sgd64) step(x, g []float64, lr float64) {
	if o.mu == 0 {
		for i, gi := range g {
			x[i] -= lr * gi
		}
		return
	}
	if o.v == nil {
		o.v = append([]float64(nil), g...)
	} else {
		for i, gi := range g {
			o.v[i] = o.mu*o.v[i] + gi
		}
	}
	for i, gi := range g {
		if o.nesterov {
			x[i] -= lr * (gi + o.mu*o.v[i])
		} else {
			x[i] -= lr * o.v[i]
		}
	}
}

// adam64 is optim.Adam (PyTorch's Adam, bias-corrected, ε outside the square root).
type adam64 struct {
	b1, b2, eps float64
	m, v        []float64
	t           int
}

func (o *adam64) step(x, g []float64, lr float64) {
	if o.m == nil {
		o.m, o.v = make([]float64, len(x)), make([]float64, len(x))
	}
	o.t++
	bc1 := 1 - math.Pow(o.b1, float64(o.t))
	sq2 := math.Sqrt(1 - math.Pow(o.b2, float64(o.t)))
	for i, gi := range g {
		o.m[i] = o.b1*o.m[i] + (1-o.b1)*gi
		o.v[i] = o.b2*o.v[i] + (1-o.b2)*gi*gi
		x[i] -= (lr / bc1) * o.m[i] / (math.Sqrt(o.v[i])/sq2 + o.eps)
	}
}
