package param_test

import (
	"fmt"

	"github.com/samgo/sam/param"
)

// ExampleLayout lays out a 4-3-2 network's parameters in one flat vector and reads one tensor
// back through its span.
func ExampleLayout() {
	var l param.Layout
	l.Add("fc1.weight", param.Weight, 3, 4)
	l.Add("fc1.bias", param.Bias, 3)
	l.Add("fc2.weight", param.Weight, 2, 3)
	l.Add("fc2.bias", param.Bias, 2)
	fmt.Print(l.String())
	fmt.Println("size", l.Size(), "weights", l.Count(param.Weight))

	w := make([]float32, l.Size())
	s, _ := l.Lookup("fc2.bias")
	copy(s.Of(w), []float32{7, 8})
	fmt.Println(w[s.Off:], s.Kind)
	// Output:
	// fc1.weight [3 4] weight [0,12)
	// fc1.bias [3] bias [12,15)
	// fc2.weight [2 3] weight [15,21)
	// fc2.bias [2] bias [21,23)
	// size 23 weights 18
	// [7 8] bias
}
