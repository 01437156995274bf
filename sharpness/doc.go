// Package sharpness measures how flat a model's loss is around its weights: Hessian-vector
// products, the top of the Hessian spectrum (Lanczos), its trace (Hutchinson), SAM sharpness
// max_{‖ε‖≤ρ} L(w+ε) − L(w) and its m-sharpness version, Keskar et al.'s ε-sharpness, and loss
// landscapes along filter-normalised random directions or the linear path between two solutions.
// The definitions are those of SAM.md, section "Sharpness measures".
//
// Everything is measured by an Objective: a model, a fixed data set (usually a seeded Subset of
// a split) and the weights, evaluated in evaluation mode (nn.Ctx{Train: false}) so that dropout
// is off and the loss is a deterministic function of w. The loss over the set is the mean over
// its examples; gradients and Hessian-vector products over several batches are accumulated in
// float64, weighted by batch size.
//
// Besides the Hessian, the generalised Gauss-Newton matrix and the empirical Fisher
// (curvature.go) have exact products too; Block restricts any of them to the parameters of some
// tensors (a diagonal block, ByLayer for each tensor); HutchPP estimates traces with less
// variance than Hutchinson; TrainBezier and Barrier measure the loss barrier between two
// solutions (mode connectivity), TrajectoryPCA the plane of a training path.
//
// Hessian-vector products are exact by default: a forward-over-reverse pass (Pearlmutter's
// R-operator) through the model's layers and loss. Dense networks (Dense, Activation, Dropout in
// evaluation mode) have a dedicated version: the forward and backward passes at w do not depend
// on the direction, so they are computed once per batch and kept, and one product costs about as
// much as one gradient. Every other model of package nn (convolutions, pooling, BatchNorm in
// evaluation mode, residual blocks) goes through a generic version (rgeneric.go) that runs each
// layer's own Forward and Backward with the direction as weights or as input. It keeps the
// passes at w too, one batch in the model's own layers and each further batch in its own
// instance of the model (gcache.go), and each dense or convolution layer has a twin (the same
// layer of a second model instance) that keeps the state of R(x), so the layer's own state of x
// is never recomputed: on the CNN one exact product costs 0.6–0.75 of a finite-difference one,
// with one batch or four (BenchmarkHVPConvRatio; 1.2–1.5 when the passes at w are made for
// every product). What is kept is bounded by a memory budget, Objective.Cache (default
// CacheLimit, 2 GiB; `sam sharpness --hvp-cache-mb`); batches beyond it are recomputed at every
// product. A central finite
// difference of gradients (FiniteDiff), with a step chosen relative to ‖w‖ and ‖v‖, remains as a
// choice and as the fallback for layers the R-operator does not know; the tests bound the error
// of both. Finite differences assume a smooth loss: on ReLU networks a step of that size crosses
// activation kinks and the quotient picks up their jumps (on a small iris MLP the λ_max it gives
// is 60% too high; on a small ResNet the product is off by a factor of several), which is why
// exact products are the default.
//
// The package does not import train: train imports it to log λ_max during training.
//
// The main entry points: LambdaMax (λ_max of a model on a data set, in one call), Objective
// and Hessian (the loss and its Hessian-vector products), TopEigen, Trace and
// SpectralDensity on any Operator, SAMSharpness, MSharpness and EpsSharpness, and Line,
// Plane and Path for landscapes.
//
//	lmax, err := sharpness.LambdaMax(model, w, trainSet, 2000, seed)
//	sub, err := sharpness.Subset(trainSet, 2000, seed)
//	o, err := sharpness.NewObjective(model, sub, sharpness.DefaultBatch)
//	s, err := sharpness.SAMSharpness(o, w, 0.05, sharpness.AscentOptions{})
package sharpness
