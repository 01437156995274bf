package sam

import (
	"fmt"

	"github.com/samgo/sam/tensor"
)

// Parts that members use to form the update from the gradients of a step.

// Finisher is a Rule that moves the weights once more after the base optimizer's step, such as
// WSAM's decoupled sharpness term w ← w − lr·α·(g_p − g). The core calls Finish only after a
// finite step that ran the Rule (not for ρ = 0); the Rule must return a non-finite gradient when
// what it keeps for Finish is not finite, so that the core refuses the step.
type Finisher interface {
	Finish(w []float32, lr float64)
}

// projection returns a·b/‖b‖² (0 when b = 0), accumulated in float64: b scaled by it is the
// part of a along b, which GSAM and LookSAM remove to get the orthogonal part.
func projection(a, b []float32) float32 {
	bb, ab := tensor.SumSqDot64(a, b) // SumSq64(b) and Dot64(a, b) in one pass
	if bb == 0 {
		return 0
	}
	return float32(ab / bb)
}

// grow returns v resized to n, reallocated only when it is too small.
func grow(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}

// noAscent is the Check of a member that takes no ascent step (SAF, MESA): the settings of ε
// mean nothing to it, so they are refused.
func noAscent(name string) func(Config) error {
	return func(c Config) error {
		switch {
		case c.AscentSteps > 1:
			return fmt.Errorf("--ascent-steps: %s takes no ascent step", name)
		case c.Adaptive:
			return fmt.Errorf("--adaptive: %s takes no ascent step, so there is no ε to scale", name)
		case c.P != 0 && c.P != 2:
			return fmt.Errorf("--p: %s takes no ascent step, so there is no ε norm", name)
		}
		return nil
	}
}
