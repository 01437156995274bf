package sweep_test

import (
	"context"
	"fmt"
	"os"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/sweep"
	"github.com/samgo/sam/train"
)

// ExampleRun tunes ρ on iris over a tiny grid (ρ ∈ {0, 0.05}, 2-fold cross-validation, one
// seed), retrains the best configuration and the ρ = 0 baseline on train+validation and tests
// them once. The folder gets sweep.json, trials/, results.csv, results.json, report.md and
// rho.png; a rerun of the same command skips the finished trials.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "sweep-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	spec := &sweep.Spec{
		Base: train.Config{Data: "iris", Task: "classification", Init: "default",
			Model:     nn.Spec{Model: "mlp", Hidden: []int{8}, Activation: "relu", Loss: "ce"},
			Optimizer: optim.Config{Name: "adam"}, LR: 0.01, Schedule: optim.Schedule{Kind: "constant"},
			BatchSize: 16, Epochs: 20, Seed: 1, TestFraction: 0.2, Standardize: true},
		Rho: []float64{0, 0.05}, LR: []float64{0.01}, L2: []float64{0},
		Seeds: 1, Folds: 2,
	}
	r, err := sweep.Run(context.Background(), spec, sweep.Options{Out: dir, Workers: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d trials (validation, then final) on %d examples; metric %s\n", len(r.Trials), r.PoolN, r.Metric)
	for _, p := range r.Grid {
		fmt.Printf("ρ = %.2f: validation accuracy %.1f%% (%d trials)\n", p.Rho, 100**p.ValAccMean, p.N)
	}
	fmt.Printf("best ρ = %.2f, test accuracy %.1f%% on %d\n", r.Best.Rho, 100**r.Test.Best.TestAccMean, r.TestN)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	// Output:
	// 5 trials (validation, then final) on 120 examples; metric val_acc
	// ρ = 0.00: validation accuracy 94.2% (2 trials)
	// ρ = 0.05: validation accuracy 91.7% (2 trials)
	// best ρ = 0.00, test accuracy 96.7% on 30
	// report.md
	// results.csv
	// results.json
	// rho.png
	// sweep.json
	// trials
}
