package optim_test

import (
	"fmt"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// ExampleSGD follows PyTorch's SGD with momentum for three steps on L(w) = ½w², whose
// gradient is w: v ← μv + g, w ← w − η·v.
func ExampleSGD() {
	o := &optim.SGD{Momentum: 0.9}
	w := []float32{1}
	for step := range 3 {
		g := []float32{w[0]}
		o.Step(w, g, 0.1)
		fmt.Printf("step %d: w = %.4f\n", step+1, w[0])
	}
	// Output:
	// step 1: w = 0.9000
	// step 2: w = 0.7200
	// step 3: w = 0.4860
}

// ExampleNew builds a base optimizer from its serialisable Config, as the command line does;
// bad settings are one-line errors naming the flag.
func ExampleNew() {
	var layout param.Layout
	layout.Add("w", param.Weight, 2)
	layout.Add("b", param.Bias, 1)
	o, err := optim.New(optim.Config{Name: "adamw", WeightDecay: 0.1}, &layout)
	if err != nil {
		panic(err)
	}
	w := []float32{1, 1, 1}
	o.Step(w, []float32{0, 0, 0}, 0.5) // zero gradient: only the decay, on the weights
	fmt.Println(w)
	_, err = optim.New(optim.Config{Name: "adam", Momentum: 0.9}, &layout)
	fmt.Println(err)
	// Output:
	// [0.95 0.95 1]
	// --momentum: only applies to --opt sgd (Adam uses --beta1)
}

// ExampleSchedule prints a cosine schedule with two warm-up steps over a run of 10 steps.
func ExampleSchedule() {
	s := optim.Schedule{Kind: "cosine", Warmup: 2, Min: 0.01}
	for t := 0; t < 10; t += 3 {
		fmt.Printf("step %d: lr %.4f\n", t, s.LR(0.1, t, 10))
	}
	// Output:
	// step 0: lr 0.0500
	// step 3: lr 0.0966
	// step 6: lr 0.0550
	// step 9: lr 0.0134
}

// ExampleClipGlobalNorm clips a gradient to global L2 norm 1 (as torch.nn.utils.clip_grad_norm_).
func ExampleClipGlobalNorm() {
	g := []float32{3, 4}
	n := optim.ClipGlobalNorm(g, 1)
	fmt.Printf("norm before %.0f, after (%.3f, %.3f)\n", n, g[0], g[1])
	// Output:
	// norm before 5, after (0.600, 0.800)
}
