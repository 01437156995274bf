// Package nn is the training engine's layer library: layers with explicit forward and backward
// passes over float32 rows, losses, and models built from a Spec.
//
// A model never owns its parameters: every Forward and Backward receives the flat parameter
// vector w (laid out by the model's param.Layout) and writes parameter gradients into a flat
// vector g of the same layout. The SAM optimizer can therefore evaluate a gradient at w+ε
// without touching w, and tools can evaluate the loss anywhere in parameter space.
//
// Layout and speed. Activations are NCHW rows (PyTorch's layout), so one example's [C, H·W]
// block is a row-major matrix and a convolution is one GEMM per example, W·cols_e, written
// straight into the example's output block; the im2col columns live in a per-thread buffer
// (in cache), never in a batch-sized matrix. Backward rebuilds the columns of a chunk of
// examples and takes the weight gradient chunk by chunk in a grouping fixed by the batch size,
// so results do not depend on the thread count. The model's own passes (Forward, Grad,
// GradRows, and residual blocks) fuse a convolution with its ReLU and 2×2 max pooling, and
// BatchNorm with its ReLU; layers called one by one are never fused, and both give the same
// bits. With Spec.Conv "winograd" the 3×3 stride-1 convolutions with at least 16 input
// channels are Winograd F(4×4, 3×3) instead (winograd.go): 36 GEMMs per chunk of examples on
// transformed tiles, a quarter of the multiplies, with the exact adjoint gradients; the values
// differ from the direct convolution's by rounding.
//
// To add a layer, implement Layer; to add a loss, implement Loss. Neither touches the SAM code.
//
// The main types: Spec (architecture and loss, as JSON) and Build, Model (Forward, Grad,
// Evaluate, Init; its Layout names the parameter spans), the layers (Dense, Conv2D, Pool2D,
// BatchNorm, Residual, Activation, Dropout), the losses (SoftmaxCrossEntropy, MSE,
// BCEWithLogits), Ctx (training or evaluation mode, SAM's second pass) and Examples (the
// per-example view ESAM's data selection needs).
//
//	m, err := nn.Build(nn.Spec{Model: "mlp", Input: []int{4}, Outputs: 3, Hidden: []int{16}, Loss: "ce"})
//	w, err := m.Init("default", seed)
//	loss, correct := m.Grad(&nn.Ctx{Train: true}, w, g, x, n, nn.Target{Labels: y})
package nn
