// Package train runs a training job end to end: it prepares the data (load, split, standardise,
// label noise), builds the model, wraps the base optimizer in SAM, runs the step loop with a
// learning-rate schedule, evaluates each epoch and writes metrics.jsonl, summary.json and
// model.safetensors.
//
// A Config is everything that defines a run; it serialises to JSON and is recorded in every
// output, so a run can always be repeated. Same Config, bit-identical weights, whatever the
// number of threads.
package train
