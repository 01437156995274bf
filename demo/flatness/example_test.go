package flatness_test

import (
	"fmt"

	"github.com/samgo/sam/demo/flatness"
)

// ExampleRun runs a smaller version of `sam demo flatness`: 4 empirical losses of 20 examples,
// 20 starting points. The population loss scatters far more at the empirical losses' sharp
// minima than at their flat ones, and SAM ends in the flat basin more often than gradient
// descent.
func ExampleRun() {
	c := flatness.DefaultConfig()
	c.Draws, c.Starts, c.Grid = 4, 20, 1200
	c.Rhos = []float64{0, 0.1}
	r, err := flatness.Run(c)
	if err != nil {
		panic(err)
	}
	s := r.Summary
	fmt.Printf("population loss at the sharp minima %.3f ± %.3f, at the flat ones %.3f ± %.5f\n", s.Sharp.Mean, s.Sharp.Std, s.Flat.Mean, s.Flat.Std)
	fmt.Printf("ending in the flat basin: GD %.0f%%, SAM %.0f%%\n", 100*s.GDFlatFraction, 100*s.SAMFlatFraction)
	// Output:
	// population loss at the sharp minima 0.111 ± 0.003, at the flat ones 0.102 ± 0.00005
	// ending in the flat basin: GD 65%, SAM 100%
}

// ExampleTrain runs gradient descent and SAM (ρ = 0.5) for 10 steps from the same start,
// w = −0.2, on one empirical loss: gradient descent falls into the sharp notch at −0.4, SAM
// steps over it into the flat bowl at 0.4.
func ExampleTrain() {
	c := flatness.DefaultConfig()
	r, err := flatness.Run(flatness.Config{Problem: c.Problem, Seed: 1, Samples: 20, Draws: 1,
		Rhos: []float64{0}, Rho: 0.5, LR: 0.02, Steps: 10, Anneal: 0, Starts: 1, Grid: 1200})
	if err != nil {
		panic(err)
	}
	e := r.Empirical[0]
	for _, rho := range []float64{0, 0.5} {
		path, err := flatness.Train(e, -0.2, rho, c.LR, c.Steps, c.Steps-c.Anneal)
		if err != nil {
			panic(err)
		}
		w := path[len(path)-1]
		fmt.Printf("ρ = %.1f: ends at w = %.2f, flat basin: %v\n", rho, w, r.InFlatBasin(w))
	}
	// Output:
	// ρ = 0.0: ends at w = -0.38, flat basin: false
	// ρ = 0.5: ends at w = 0.40, flat basin: true
}
