package sharpness_test

import (
	"fmt"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/sharpness"
	"github.com/samgo/sam/train"
)

// trained trains a 4-16-3 MLP on iris with SGD (ρ = 0) or SAM.
func trained(rho float64) (*train.Result, *train.Data) {
	c := &train.Config{
		Data: "iris", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{16}, Activation: "relu", Loss: "ce"},
		Optimizer: optim.Config{Name: "sgd", Momentum: 0.9}, SAM: sam.Config{Rho: rho}, LR: 0.05,
		Schedule:  optim.Schedule{Kind: "constant"},
		BatchSize: 16, Epochs: 30, Seed: 1, TestFraction: 0.2, Standardize: true,
	}
	d, err := train.Prepare(c)
	if err != nil {
		panic(err)
	}
	res, err := train.Run(c, d, "", "", train.Observer{})
	if err != nil {
		panic(err)
	}
	return res, d
}

// ExampleLambdaMax measures the Hessian's top eigenvalue λ_max of the training loss at the
// weights of an SGD run and of a SAM run (exact Hessian-vector products, Lanczos): SAM's
// solution is flatter.
func ExampleLambdaMax() {
	for _, rho := range []float64{0, 0.1} {
		res, d := trained(rho)
		lmax, err := sharpness.LambdaMax(res.Model, res.Weights, d.Train, d.Train.N(), 1)
		if err != nil {
			panic(err)
		}
		fmt.Printf("ρ = %.1f: λ_max %.1f\n", rho, lmax)
	}
	// Output:
	// ρ = 0.0: λ_max 1.2
	// ρ = 0.1: λ_max 0.9
}

// ExampleSAMSharpness measures max_{‖ε‖≤ρ} L(w+ε) − L(w) on the training set by projected
// gradient ascent, next to SAM's one-step estimate.
func ExampleSAMSharpness() {
	res, d := trained(0)
	o, err := sharpness.NewObjective(res.Model, d.Train, sharpness.DefaultBatch)
	if err != nil {
		panic(err)
	}
	s, err := sharpness.SAMSharpness(o, res.Weights, 0.1, sharpness.AscentOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("L(w) %.3f, sharpness %.3f ≥ one step %.3f\n", s.Loss, s.Sharpness, s.OneStep)
	// Output:
	// L(w) 0.050, sharpness 0.007 ≥ one step 0.003
}
