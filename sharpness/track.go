package sharpness

import (
	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// TrackSubset is the number of training examples on which `sam train --track-sharpness`
// measures λ_max.
const TrackSubset = 2000

// LambdaMax is the largest eigenvalue of the Hessian of m's loss at w over n examples of set
// drawn by seed (all of set when n ≥ set.N()), in evaluation mode, with exact products where
// the model allows and Lanczos to a relative residual of 1e-3. It is meant for logging
// sharpness during training; it does not change m's weights.
func LambdaMax(m *nn.Model, w []float32, set *data.Set, n int, seed uint64) (float64, error) {
	sub, err := Subset(set, n, seed)
	if err != nil {
		return 0, err
	}
	o, err := NewObjective(m, sub, 0)
	if err != nil {
		return 0, err
	}
	h, err := NewHessian(o, w, Auto)
	if err != nil {
		return 0, err
	}
	e, err := TopEigen(h, 1, LanczosOptions{Seed: seed})
	if err != nil {
		return 0, err
	}
	return e.Values[0], nil
}
