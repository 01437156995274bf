package sam

import "github.com/samgo/sam/tensor"

// Parts that members use to form the update from the gradients of a step.

// projection returns a·b/‖b‖² (0 when b = 0), accumulated in float64: b scaled by it is the
// part of a along b, which GSAM and LookSAM remove to get the orthogonal part.
func projection(a, b []float32) float32 {
	bb := tensor.SumSq64(b)
	if bb == 0 {
		return 0
	}
	return float32(tensor.Dot64(a, b) / bb)
}

// grow returns v resized to n, reallocated only when it is too small.
func grow(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}
