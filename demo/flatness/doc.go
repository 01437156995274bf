// Package flatness reproduces, with real numbers, the seed's stylised argument for flat minima and
// for Sharpness-Aware Minimization (`sam demo flatness`).
//
// The problem is one-dimensional: an example is x ~ N(0, τ²) and its loss l(w, x) is a wide
// quadratic bowl with a narrow Gaussian notch in its left wall, shifted by x (see Problem). The
// population loss L_P = E_x l has a sharp minimum (the notch) and a flat one (the bowl) of similar
// depth; an empirical loss L_S is the mean over N drawn examples, a random function of the sample.
//
// Run computes three things, which Result writes as figures, summary.json and report.md:
//
//   - for each of several empirical losses, the population loss at its sharp and at its flat
//     minimum: the sharp ones scatter far more (empirical.png);
//   - L_S^SAM(w) = max_{|ε|≤ρ} L_S(w+ε) for several ρ, exact (a sliding maximum on a fine grid)
//     and SAM's first-order approximation L_S(w + ρ·sign L_S'(w)): it rises much more at the sharp
//     minimum (sam_objective.png);
//   - full-batch gradient descent and SAM, both the project's sam.Optimizer around plain SGD, from
//     many random starting points: SAM leaves the notch, gradient descent often stays
//     (trajectories.png).
//
// Everything is deterministic for a Config (seeded PCG streams) and runs in well under a second.
//
// The main types: Config (DefaultConfig is `sam demo flatness`), Problem (the loss of one
// example), Empirical (L_S of one sample), Result (Run's output, with Write for the figures
// and reports) and Train (GD or SAM on one empirical loss).
//
//	r, err := flatness.Run(flatness.DefaultConfig())
//	err = r.Write("runs/flatness")
package flatness
