package flatness

import (
	"fmt"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// Train runs full-batch training on the empirical loss e from w0 for steps steps with learning
// rate lr: SAM with radius rho for the first rhoSteps steps, then ρ = 0 (plain gradient descent,
// exactly) for the rest; rho = 0 is gradient descent throughout. Both phases use the project's
// SAM optimizer (sam.New) around plain SGD; every step sees all n examples as one mini-batch.
// It returns the path: w before the first step and after each step (steps+1 values).
func Train(e Empirical, w0, rho, lr float64, steps, rhoSteps int) ([]float64, error) {
	var layout param.Layout
	layout.Add("w", param.Weight, 1)
	samOpt, err := sam.New(&optim.SGD{}, &layout, sam.Config{Rho: rho})
	if err != nil {
		return nil, err
	}
	gdOpt, err := sam.New(&optim.SGD{}, &layout, sam.Config{})
	if err != nil {
		return nil, err
	}
	loss := func(w, grad []float32, lo, hi int, second bool) float64 {
		l, d := e.grad(float64(w[0]), lo, hi)
		grad[0] = float32(d)
		return l
	}
	w := []float32{float32(w0)}
	path := make([]float64, steps+1)
	path[0] = float64(w[0])
	for t := range steps {
		opt := samOpt
		if t >= rhoSteps {
			opt = gdOpt
		}
		if _, err := opt.Step(w, len(e.X), loss, lr); err != nil {
			return path[:t+1], fmt.Errorf("flatness: step %d from w0 = %g: %w", t+1, w0, err)
		}
		path[t+1] = float64(w[0])
	}
	return path, nil
}
