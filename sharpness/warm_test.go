package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/nn"
)

// TestGenericWarmAndTwins: with one batch the generic R-operator reuses the forward and backward
// passes at w across products, and dense and convolution layers keep R(x)'s state in a twin
// layer. Products after other products equal those of a fresh operator, and those without
// twins (the state of x recomputed), for the Hessian, the GGN and the Fisher.
func TestGenericWarmAndTwins(t *testing.T) {
	for _, spec := range []nn.Spec{
		{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"},
		{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"},
	} {
		for _, c := range []Curvature{HessianCurvature, GaussNewton, EmpiricalFisher} {
			t.Run(spec.Model+"/"+c.String(), func(t *testing.T) {
				o, w := convObjective(t, spec, 12)
				o.Batch = 100 // one batch
				rng := rand.New(rand.NewPCG(4, 4))
				n := o.Dim()
				u, v := randUnit(rng, n), randUnit(rng, n)
				warm, err := NewCurvature(o, w, Exact, c)
				if err != nil || warm.seq == nil {
					t.Fatalf("generic path: %v", err)
				}
				scratch := make([]float64, n)
				warm.Mul(scratch, u)
				if !warm.warm {
					t.Fatal("not warm after a product on one batch")
				}
				got := make([]float64, n)
				warm.Mul(got, v)
				cold, _ := NewCurvature(o, w, Exact, c)
				want := make([]float64, n)
				cold.Mul(want, v)
				plain, _ := NewCurvature(o, w, Exact, c)
				seq, err := buildSeq(o.Model.Layers, nil)
				if err != nil {
					t.Fatal(err)
				}
				plain.seq = seq
				noTwin := make([]float64, n)
				plain.Mul(noTwin, v)
				var scale float64
				for _, x := range want {
					scale = math.Max(scale, math.Abs(x))
				}
				for i := range want {
					if math.Abs(got[i]-want[i]) > 1e-6*scale || math.Abs(noTwin[i]-want[i]) > 1e-6*scale {
						t.Fatalf("entry %d: warm %g, fresh %g, without twins %g", i, got[i], want[i], noTwin[i])
					}
				}
			})
		}
	}
}
