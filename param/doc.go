// Package param describes where a model's parameters live in one flat float32 vector.
//
// Every model of this project keeps all of its parameters in a single []float32. A Layout names
// the spans of that vector (a tensor each: name, shape, kind), so that code that must treat
// tensors differently (SAM's whole-model norm, ASAM's element-wise scale, the L2 and weight-decay
// masks, checkpoints, filter-normalised directions) can act on the flat vector without knowing
// the model.
//
// The main types: Layout (Add, Lookup, Size, Count), Span (a tensor's name, shape, Kind and
// offset; Of returns its elements of a flat vector) and Kind (Weight, Bias, Norm).
//
//	var l param.Layout
//	fc := l.Add("fc.weight", param.Weight, 10, 784)
//	l.Add("fc.bias", param.Bias, 10)
//	w := make([]float32, l.Size())
//	kernel := fc.Of(w) // the 7,840 elements of fc.weight, row-major
package param
