package sam

import (
	"errors"
	"fmt"
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// This file is the step skeleton that every member of the SAM family shares: the first pass,
// the member's ascent and second pass (its Rule), the L2 term outside the max, the finite check
// and the hand-off to the base optimizer; ρ = 0 is one pass. The members live in member_*.go,
// the ε machinery in perturb.go, the registry of names, flags and help in member.go.

// Loss evaluates the training loss on examples [lo, hi) of the current mini-batch at parameters w,
// overwrites grad with its gradient and returns the loss (mean over those examples).
// second is true for the evaluation at the perturbed point w+ε: the model must then reuse the
// first pass's random choices (dropout masks) and must not update batch-statistics state
// (BatchNorm running averages).
type Loss func(w, grad []float32, lo, hi int, second bool) float64

// Examples gives ESAM's sharpness-sensitive data selection (--esam-gamma < 1) the per-example
// view of the mini-batch's loss that it ranks examples by; see Optimizer.StepExamples.
type Examples interface {
	// Losses writes the n per-example losses of the last evaluation into dst: the first pass
	// Loss(w, grad, 0, n, false), or Forward.
	Losses(dst []float32)
	// Forward evaluates the model at w on all n examples, as a second pass (see Loss), without
	// a gradient.
	Forward(w []float32)
	// Backward overwrites grad with the gradient, at the w of the last Forward, of the mean loss
	// over the examples idx (ascending), and returns that mean.
	Backward(w, grad []float32, idx []int) float64
}

// Rule is a member's part of a step: it returns the loss at w (the first pass) and the gradient
// that the base optimizer steps with, using the passes that s offers. The slice it returns may
// be overwritten by the next step.
type Rule interface {
	Gradient(s *Step) (loss float64, g []float32)
}

// Step is one optimizer step as a Rule sees it.
type Step struct {
	W    []float32 // the parameters at the start of the step (read only)
	N    int       // examples in the mini-batch
	LR   float64   // this step's learning rate
	T    int       // steps taken before this one
	Loss Loss
	Ex   Examples  // the per-example view; nil unless the caller of StepExamples gave one
	G    []float32 // scratch of the parameters' size: the gradient a plain SAM step returns
	WP   []float32 // scratch: the perturbed point w+ε
	Eps  *Perturbation
	Cfg  *Config         // the settings, defaults filled in
	Base optim.Optimizer // the base optimizer (members that read its state, e.g. its momentum)
	eps  []float32
	// first, when set, combines the first pass's gradient and loss across data-parallel
	// workers (see Optimizer.SetReduce).
	first Reduce
	forks []Loss // Optimizer.SetForks
}

// Grad evaluates the first pass on examples [lo,hi) at w into g and returns its loss.
func (s *Step) Grad(g []float32, lo, hi int) float64 {
	l := s.Loss(s.W, g, lo, hi, false)
	if s.first != nil {
		l = s.first(g, l)
	}
	return l
}

// ascendTo is Ascend with the gradient at the ascent point written into out, not over g (one
// ascent step only; with --ascent-steps > 1 it copies g to out and ascends there).
func (s *Step) ascendTo(out, g []float32, lo, hi int, rho float64) {
	if s.Cfg.AscentSteps > 1 {
		copy(out, g)
		s.Ascend(out, lo, hi, rho)
		return
	}
	s.Eps.Apply(s.WP, s.W, s.W, g, rho)
	s.Loss(s.WP, out, lo, hi, true)
}

// Ascend replaces g, the gradient at w on examples [lo,hi), by the gradient at the ascent point
// w+ε on the same examples: one step ε = ρ·ĝ, or with --ascent-steps k the projected steps
// ε ← Proj_{‖ε‖≤ρ}(ε + (ρ/k)·ĝ(w+ε)) (SAM paper, App. C), ĝ the gradient normalised by s.Eps.
func (s *Step) Ascend(g []float32, lo, hi int, rho float64) {
	k := s.Cfg.AscentSteps
	if k <= 1 {
		s.Eps.Apply(s.WP, s.W, s.W, g, rho)
		s.Loss(s.WP, g, lo, hi, true)
		return
	}
	if s.eps == nil {
		s.eps = make([]float32, len(s.W))
	}
	clear(s.eps)
	if s.Eps.plain() {
		// The same steps with fused passes (the same bits): ε ← ε + c·g, w + ε and ‖ε‖² in one
		// pass; the projection's scaling, which only rounding can call for (‖ε‖ ≤ Σ ρ/k = ρ),
		// redoes w + ε in another.
		for range k {
			c := float32(rho / float64(k) / (math.Sqrt(tensor.SumSq64(g)) + 1e-12))
			if n := math.Sqrt(tensor.AscentPass(s.WP, s.W, s.eps, c, g)); n > rho {
				tensor.ScaleAdd(s.WP, s.W, s.eps, float32(rho/n))
			}
			s.Loss(s.WP, g, lo, hi, true)
		}
		return
	}
	for range k {
		s.Eps.Apply(s.eps, s.eps, s.W, g, rho/float64(k))
		s.Eps.Project(s.eps, s.W, rho)
		tensor.AddScaled(s.WP, s.W, 1, s.eps) // w + ε (1·ε is exact)
		s.Loss(s.WP, g, lo, hi, true)
	}
}

// Optimizer is SAM, or a member of its family, around a base optimizer. Create it with New.
type Optimizer struct {
	cfg    Config
	base   optim.Optimizer
	layout *param.Layout
	rule   Rule
	s      Step
	final  Reduce
	// From New: whether ρ = 0 still runs the rule, and the rule's optional hooks.
	rhoFree bool
	updater Updater
	finish  Finisher
}

// Reduce combines a gradient and its loss across data-parallel workers in place (the mean over
// the workers, an all-reduce) and returns the combined loss.
type Reduce func(g []float32, loss float64) float64

// SetReduce makes the optimizer data-parallel: final combines the gradient that the base
// optimizer steps with, on every step, before the finite check (so that all workers agree on
// it); first, when not nil, also combines every first-pass gradient, so that ε is the whole
// batch's. Without first, each worker's ε comes from its own share of the batch, as in the SAM
// paper's data-parallel training (m-sharpness with m the per-worker batch).
// A member whose Rule moves the weights itself (an Updater or a Finisher) does so from this
// worker's own gradients, so it is refused.
func (o *Optimizer) SetReduce(final, first Reduce) error {
	if o.updater != nil || o.finish != nil {
		return fmt.Errorf("--variant %s: makes its own update from each worker's gradients, so it does not run data-parallel", member(o.cfg.Variant).Name)
	}
	o.final, o.s.first = final, first
	return nil
}

// SetForks gives the optimizer further evaluators of the loss that each Step is passed: the same
// mini-batch and the same bits, each with its own workspace, safe to run at the same time as
// that Loss and as each other on disjoint examples (nn.Model.Forks builds their models).
// m-sharpness (--m) then evaluates up to tensor.Threads() of its chunks at once, each on one
// thread (tensor.SetThreads(1) while they run), and returns the bits of the chunks evaluated
// one after another. A data-parallel first pass (SetReduce) keeps them one after another.
func (o *Optimizer) SetForks(forks []Loss) { o.s.forks = forks }

// ErrNonFinite is returned (wrapped) by Step when the loss or gradient is NaN or infinite;
// the parameters are then left as they were before the step.
var ErrNonFinite = errors.New("sam: loss or gradient is not finite")

// New wraps base for a parameter vector laid out as layout, with the member cfg.Variant.
func New(base optim.Optimizer, layout *param.Layout, cfg Config) (*Optimizer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := layout.Size()
	o := &Optimizer{cfg: cfg, base: base, layout: layout}
	o.s = Step{G: make([]float32, n), Cfg: &o.cfg, Base: base,
		Eps: &Perturbation{P: cfg.P, Adaptive: cfg.Adaptive, Eta: float32(cfg.Eta), Layout: layout}}
	if cfg.Rho > 0 || member(cfg.Variant).RhoFree {
		o.s.WP = make([]float32, n)
	}
	o.rule = member(cfg.Variant).New(o.cfg, o.s.Eps)
	o.rhoFree = member(cfg.Variant).RhoFree
	o.updater, _ = o.rule.(Updater)
	o.finish, _ = o.rule.(Finisher)
	return o, nil
}

// Config returns the settings in use (defaults filled in).
func (o *Optimizer) Config() Config { return o.cfg.clone() }

// Step performs one step on a mini-batch of n examples with learning rate lr, updating w in
// place, and returns the loss at w (the first pass). With ρ = 0 it is one pass and the base
// optimizer's step.
func (o *Optimizer) Step(w []float32, n int, loss Loss, lr float64) (float64, error) {
	return o.StepExamples(w, n, loss, nil, lr)
}

// StepExamples is Step with the per-example view ex of the same mini-batch, which ESAM's data
// selection (--esam-gamma < 1) needs; every other setting ignores it, and it may then be nil.
func (o *Optimizer) StepExamples(w []float32, n int, loss Loss, ex Examples, lr float64) (float64, error) {
	if len(w) != o.layout.Size() {
		panic(fmt.Sprintf("sam: len(w)=%d, layout size %d", len(w), o.layout.Size()))
	}
	s := &o.s
	s.W, s.N, s.Loss, s.Ex, s.LR = w, n, loss, ex, lr
	var l float64
	var g []float32
	fin, u := o.finish, o.updater
	if o.cfg.Rho == 0 && !o.rhoFree {
		g, fin, u = s.G, nil, nil
		l = s.Loss(w, g, 0, n, false)
	} else {
		l, g = o.rule.Gradient(s)
	}
	if o.final != nil {
		l = o.final(g, l)
	}
	s.T++
	s.W, s.Loss, s.Ex = nil, nil, nil
	if math.IsNaN(l) || math.IsInf(l, 0) || !tensor.Finite(g) {
		return l, ErrNonFinite
	}
	if o.cfg.L2 != 0 {
		lam := float32(o.cfg.L2)
		for _, sp := range o.layout.Spans {
			if sp.Kind == param.Weight {
				gs, ws := sp.Of(g), sp.Of(w)
				for i, x := range ws {
					gs[i] += lam * x
				}
			}
		}
	}
	if u != nil {
		u.Update(s, w, g)
	} else {
		o.base.Step(w, g, lr)
	}
	if fin != nil {
		fin.Finish(w, lr)
	}
	return l, nil
}
