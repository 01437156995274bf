package nn_test

import (
	"fmt"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
)

// ExampleBuild builds a model from its Spec (what a checkpoint stores) and shows its parameter
// layout: one flat vector, a named span per tensor.
func ExampleBuild() {
	m, err := nn.Build(nn.Spec{Model: "mlp", Input: []int{4}, Outputs: 3, Hidden: []int{8}, Loss: "ce"})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Describe())
	fmt.Print(m.Layout.String())
	// Output:
	// mlp 4-8-3 relu, ce loss (67 parameters)
	// fc1.weight [8 4] weight [0,32)
	// fc1.bias [8] bias [32,40)
	// fc2.weight [3 8] weight [40,64)
	// fc2.bias [3] bias [64,67)
}

// ExampleModel_Grad trains a model of package nn with SAM: Model.Grad on the mini-batch's rows
// is the sam.Loss (ctx.Second marks SAM's second pass).
func ExampleModel_Grad() {
	m, err := nn.Build(nn.Spec{Model: "logistic", Input: []int{2}, Outputs: 2, Loss: "ce"})
	if err != nil {
		panic(err)
	}
	// Two clusters: class 0 around (−1, −1), class 1 around (1, 1).
	x := []float32{-1, -1.2, -1.1, -0.8, -0.9, -1, 1, 1.1, 0.8, 1.2, 1.1, 0.9}
	t := nn.Target{Labels: []int32{0, 0, 0, 1, 1, 1}}
	w, err := m.Init("zeros", 1)
	if err != nil {
		panic(err)
	}
	opt, err := sam.New(&optim.SGD{Momentum: 0.9}, &m.Layout, sam.Config{Rho: 0.05})
	if err != nil {
		panic(err)
	}
	ctx := &nn.Ctx{Train: true}
	loss := func(w, g []float32, lo, hi int, second bool) float64 {
		ctx.Second = second
		l, _ := m.Grad(ctx, w, g, x[2*lo:2*hi], hi-lo, nn.Target{Labels: t.Labels[lo:hi]})
		return l
	}
	l0, _ := m.Evaluate(w, x, 6, t, 6)
	for range 5 {
		if _, err := opt.Step(w, 6, loss, 0.1); err != nil {
			panic(err)
		}
	}
	l, correct := m.Evaluate(w, x, 6, t, 6)
	fmt.Printf("loss %.2f → %.2f, %d of 6 correct\n", l0, l, correct)
	// Output:
	// loss 0.69 → 0.10, 6 of 6 correct
}
