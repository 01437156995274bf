package train_test

import (
	"fmt"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/train"
)

// irisConfig is a small, fast job: a 4-16-3 MLP on iris with SAM around Adam, 20 epochs.
func irisConfig(rho float64) *train.Config {
	return &train.Config{
		Data: "iris", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{16}, Activation: "relu", Loss: "ce"},
		Optimizer: optim.Config{Name: "adam"}, SAM: sam.Config{Rho: rho}, LR: 0.01,
		Schedule:  optim.Schedule{Kind: "cosine"},
		BatchSize: 16, Epochs: 20, Seed: 1, ValFraction: 0.1, TestFraction: 0.2, Standardize: true,
	}
}

// ExampleRun trains an MLP on iris with SAM (ρ = 0.05) and reports the final weights' test
// accuracy. With out = "" nothing is written; a folder there gets metrics.jsonl, summary.json and
// model.safetensors.
func ExampleRun() {
	c := irisConfig(0.05)
	d, err := train.Prepare(c)
	if err != nil {
		panic(err)
	}
	res, err := train.Run(c, d, "", "", train.Observer{})
	if err != nil {
		panic(err)
	}
	s := res.Summary
	fmt.Printf("%s: %d steps on %d examples, test accuracy %.0f%% on %d\n",
		s.Model, s.Steps, s.TrainN, 100**s.TestAcc, s.TestN)
	// Output:
	// mlp 4-16-3 relu, ce loss (131 parameters): 140 steps on 105 examples, test accuracy 97% on 30
}

// ExampleConfig_Validate shows the one-line errors for a config a user got wrong.
func ExampleConfig_Validate() {
	c := irisConfig(0.05)
	c.BatchSize = -1
	fmt.Println(c.Validate())
	c = irisConfig(-1)
	fmt.Println(c.Validate())
	// Output:
	// --batch-size: must be a positive integer or full, got -1
	// --rho: must be a finite number ≥ 0, got -1
}
