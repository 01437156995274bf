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
package optim
