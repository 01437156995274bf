// Package nn is the training engine's layer library: layers with explicit forward and backward
// passes over float32 rows, losses, and models built from a Spec.
//
// A model never owns its parameters: every Forward and Backward receives the flat parameter
// vector w (laid out by the model's param.Layout) and writes parameter gradients into a flat
// vector g of the same layout. The SAM optimizer can therefore evaluate a gradient at w+ε
// without touching w, and tools can evaluate the loss anywhere in parameter space.
//
// To add a layer, implement Layer; to add a loss, implement Loss. Neither touches the SAM code.
package nn
