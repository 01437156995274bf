package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate at step t (0-based) of a run of total steps.
type Schedule struct {
	Kind   string  `json:"kind"`             // "constant", "step" or "cosine"
	Warmup int     `json:"warmup,omitempty"` // linear warm-up steps (all kinds)
	Every  int     `json:"every,omitempty"`  // step: decay every this many steps
	Gamma  float64 `json:"gamma,omitempty"`  // step: multiply by gamma at each decay
	Min    float64 `json:"min_lr,omitempty"` // cosine: final learning rate
}

// Validate reports an invalid schedule as a one-line error naming the flag.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "constant", "cosine":
	case "step":
		if s.Every <= 0 {
			return fmt.Errorf("--lr-step: must be > 0 for --schedule step, got %d", s.Every)
		}
		if !(s.Gamma > 0) || math.IsInf(s.Gamma, 0) {
			return fmt.Errorf("--lr-gamma: must be > 0, got %g", s.Gamma)
		}
	default:
		return fmt.Errorf("--schedule: unknown schedule %q (want constant, step or cosine)", s.Kind)
	}
	if s.Warmup < 0 {
		return fmt.Errorf("--warmup: must be ≥ 0, got %d", s.Warmup)
	}
	if s.Min < 0 || math.IsNaN(s.Min) || math.IsInf(s.Min, 0) {
		return fmt.Errorf("--min-lr: must be ≥ 0, got %g", s.Min)
	}
	return nil
}

// LR returns the learning rate at step t of total for base rate lr.
// Warm-up ramps linearly from lr/(Warmup) at t=0 up to lr at t=Warmup−1 (as in (t+1)/Warmup).
func (s Schedule) LR(lr float64, t, total int) float64 {
	if t < s.Warmup {
		return lr * float64(t+1) / float64(s.Warmup)
	}
	switch s.Kind {
	case "step":
		return lr * math.Pow(s.Gamma, float64((t-s.Warmup)/s.Every))
	case "cosine":
		span := total - s.Warmup
		if span <= 1 {
			return lr
		}
		frac := float64(t-s.Warmup) / float64(span)
		return s.Min + (lr-s.Min)*0.5*(1+math.Cos(math.Pi*frac))
	}
	return lr
}
