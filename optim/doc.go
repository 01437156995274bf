// Package optim holds the base optimizers that SAM wraps (SGD with momentum and Nesterov, Adam,
// AdamW), learning-rate schedules and gradient clipping.
//
// An Optimizer updates a flat parameter vector in place from a gradient of the same length.
// Conventions are PyTorch's (see ../shared/reference/SAM.md, "SGD convention"):
//
//	SGD:      v ← μ v + g,  w ← w − η v   (Nesterov: w ← w − η (g + μ v))
//	Adam:     bias-corrected moments, eps added outside the square root
//
// Decoupled weight decay (w ← w − η·wd·w, AdamW style) is applied before the update, on the
// weight spans of the layout only (not biases, not normalisation parameters).
//
// The main types: SGD and Adam (the zero values are plain SGD and Adam with PyTorch's
// defaults), Clip around either, Config (the serialisable name and settings that New turns
// into an Optimizer), Schedule (constant, step or cosine, with warm-up) and State/Stateful
// for checkpoints.
//
//	o, err := optim.New(optim.Config{Name: "sgd", Momentum: 0.9}, &layout)
//	sched := optim.Schedule{Kind: "cosine", Warmup: 100}
//	for t := range total {
//		// g ← ∇L(w)
//		o.Step(w, g, sched.LR(0.1, t, total))
//	}
package optim
