// Package sam implements Sharpness-Aware Minimization (Foret, Kleiner, Mobahi, Neyshabur,
// "Sharpness-Aware Minimization for Efficiently Improving Generalization", ICLR 2021).
//
// SAM minimises max_{‖ε‖_p ≤ ρ} L_S(w+ε) + (λ/2)‖w‖². Each step
//
//  1. takes the mini-batch gradient g = ∇L_B(w),
//  2. moves to the (first-order) worst point w+ε, ε = ρ·sign(g)|g|^(q−1)/(‖g‖_q^q)^(1/p),
//  3. takes the gradient there, g_SAM = ∇L_B(w+ε), on the same batch,
//  4. adds the L2 gradient λw at the unperturbed weights (weight spans only), and
//  5. lets any base optimizer (package optim) step with g_SAM.
//
// w itself is never perturbed: the second gradient is taken at a separate copy. ρ = 0 is exactly
// the base optimizer at the cost of one pass. ASAM (Kwon et al., ICML 2021) scales ε element-wise
// by T = |w|+η on weight spans, and m-sharpness (SAM paper §4.1) computes ε per chunk of m
// examples and averages the chunks' g_SAM; given forks of the loss (Optimizer.SetForks) it runs
// the chunks side by side, one per thread, with the bits of one chunk after another.
//
// The SAM family. Each member (Config.Variant; "" is SAM) is one small file, member_NAME.go,
// that registers a Member: its name, paper, settings (Param: flag, default, range, help) and a
// constructor for its Rule, the member's part of a step. The step skeleton (sam.go) does the rest:
// ρ = 0 as one pass, the L2 term, the finite check and the base optimizer's step. Rules are built
// from parts: Step.Grad (a first pass), Step.Ascend (ε from the Perturbation, then the gradient
// at w+ε, one or k projected steps) and the Perturbation's switches (p-norm, ASAM scaling,
// unnormalised, span filter, random masks). A Rule that moves the weights once more after the
// base optimizer's step (WSAM's decoupled sharpness term) implements Finisher. Members lists the
// family; the command line, the sweep and the README table read it.
//
// The package knows nothing about models or files: a model enters only as a Loss function over
// the flat parameter vector, and its parameter Layout says which spans are weights.
//
// The main types: Optimizer (New, Step, StepExamples) is SAM around any optim.Optimizer;
// Config holds the settings and Validate reports a bad one as a one-line error naming the
// flag; Loss is how a model enters; Member, Members and Lookup describe the family; Gonum
// runs the same steps as a method of gonum's optimize package, for any float64 objective
// with a gradient.
//
// A model of your own is a Loss over the flat parameter vector (Example_linearRegression and
// Example_customModel show whole programs):
//
//	var layout param.Layout
//	layout.Add("w", param.Weight, 3)
//	opt, err := sam.New(&optim.SGD{Momentum: 0.9}, &layout, sam.Config{Rho: 0.05})
//	// each step, on a mini-batch of n examples:
//	l, err := opt.Step(w, n, func(w, g []float32, lo, hi int, second bool) float64 {
//		// write ∇L(w) over examples [lo, hi) into g and return L(w)
//	}, lr)
//
// and a gonum problem runs through optimize.Minimize (ExampleGonum):
//
//	res, err := optimize.Minimize(problem, x0, settings, &sam.Gonum{
//		Config: sam.Config{Rho: 0.05}, Base: optim.Config{Name: "sgd", Momentum: 0.9}, LR: 1e-3})
package sam
