// Package train runs a training job end to end: it prepares the data (load, split, standardise,
// label noise), builds the model, wraps the base optimizer in SAM, runs the step loop with a
// learning-rate schedule, evaluates each epoch and writes metrics.jsonl, summary.json and
// model.safetensors.
//
// A Config is everything that defines a run; it serialises to JSON and is recorded in every
// output, so a run can always be repeated. Same Config, bit-identical weights, whatever the
// number of threads.
//
// The main types: Config (validated by Validate with one-line errors naming the flag), Data
// (Prepare), Run and its Result (Summary, the model and its weights), Observer (progress
// callbacks), Metrics (one line of metrics.jsonl), and SaveModel/LoadModel for checkpoints.
//
//	c := &train.Config{Data: "iris", Task: "classification", Init: "default",
//		Model:     nn.Spec{Model: "mlp", Hidden: []int{16}, Loss: "ce"},
//		Optimizer: optim.Config{Name: "adam"}, SAM: sam.Config{Rho: 0.05}, LR: 0.01,
//		Schedule:  optim.Schedule{Kind: "constant"}, BatchSize: 16, Epochs: 20, Seed: 1,
//		ValFraction: 0.1, TestFraction: 0.2, Standardize: true}
//	d, err := train.Prepare(c)
//	res, err := train.Run(c, d, "runs/iris", "", train.Observer{})
package train
