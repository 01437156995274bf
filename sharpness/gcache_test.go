package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/nn"
)

// TestGenericBatchCache: with several batches the generic R-operator keeps each batch's passes
// at w in its own model instance while the memory budget lasts and recomputes the others; the
// products (Hessian, GGN, Fisher; BatchNorm statistics and residual blocks included) are those
// of an operator that keeps nothing, whatever the budget and the order of products.
func TestGenericBatchCache(t *testing.T) {
	for _, spec := range []nn.Spec{
		{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"},
		{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"},
		{Model: "wrn", Depth: 10, Width: 1, Input: []int{3, 8, 8}, Outputs: 3, Loss: "ce"},
	} {
		for _, c := range []Curvature{HessianCurvature, GaussNewton, EmpiricalFisher} {
			t.Run(spec.Model+"/"+c.String(), func(t *testing.T) {
				o, w := convObjective(t, spec, 15) // 3 batches of 5
				rng := rand.New(rand.NewPCG(8, 8))
				n := o.Dim()
				u, v := randUnit(rng, n), randUnit(rng, n)
				products := func(cache int64) (*Hessian, [3][]float64) {
					o.Cache = cache
					defer func() { o.Cache = 0 }()
					h, err := NewCurvature(o, w, Exact, c)
					if err != nil || h.seq == nil {
						t.Fatalf("generic path: %v", err)
					}
					var out [3][]float64
					for i, x := range [][]float64{u, v, u} {
						out[i] = make([]float64, n)
						h.Mul(out[i], x)
					}
					return h, out
				}
				none, want := products(-1)
				if none.warm || len(none.gen) != 3 || none.gen[1] != none.gen[0] || none.gen[2] != none.gen[0] {
					t.Fatalf("no budget: warm %v, batches with their own nodes %v", none.warm, distinct(none.gen))
				}
				all, got := products(0)
				t.Logf("instances: %v bytes", all.genSizes)
				if !all.warm || distinct(all.gen) != 3 || all.genBytes <= 0 {
					t.Fatalf("default budget: warm %v, %d batches with their own nodes, %d bytes", all.warm, distinct(all.gen), all.genBytes)
				}
				// A budget of one instance and a half: batch 1 keeps its own, batch 2 shares batch
				// 0's. (Measured allocations vary by a few hundred kB between runs, as pooled
				// GEMM buffers are dropped at garbage collections: half an instance is wider.)
				budget := (all.genSizes[0] + all.genSizes[1]) * 3 / 4
				part, gotPart := products(budget)
				if part.warm || distinct(part.gen) != 2 || part.gen[1] == part.gen[0] || part.gen[2] != part.gen[0] {
					t.Fatalf("budget %d: warm %v, %d batches with their own nodes", budget, part.warm, distinct(part.gen))
				}
				for i := range want {
					var scale float64
					for _, x := range want[i] {
						scale = math.Max(scale, math.Abs(x))
					}
					for j := range want[i] {
						if math.Abs(got[i][j]-want[i][j]) > 1e-6*scale || math.Abs(gotPart[i][j]-want[i][j]) > 1e-6*scale {
							t.Fatalf("product %d, entry %d: cached %g, one batch cached %g, nothing cached %g", i, j, got[i][j], gotPart[i][j], want[i][j])
						}
					}
				}
				if math.Abs(got[0][0]-got[2][0]) > 0 {
					t.Errorf("the same product twice: %g, then %g", got[0][0], got[2][0])
				}
			})
		}
	}
}

// distinct counts the different node sets among the batches'.
func distinct(gen []*genState) int {
	seen := map[*genState]bool{}
	for _, g := range gen {
		seen[g] = true
	}
	return len(seen)
}

// TestGenericCacheChangedLayers: a model whose layers were changed after nn.Build (smooth
// activations and average pooling) is not rebuilt from its spec for the cache; its products
// over several batches stay exact (every batch recomputed on the model's own layers).
func TestGenericCacheChangedLayers(t *testing.T) {
	o, w := convObjective(t, nn.Spec{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"}, 12)
	smooth(o.Model.Layers)
	h, err := NewHessian(o, w, Exact)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	v := randUnit(rng, o.Dim())
	hv := make([]float64, o.Dim())
	h.Mul(hv, v)
	if distinct(h.gen) != 1 {
		t.Fatalf("%d batches with their own nodes, want 1 (the model's own)", distinct(h.gen))
	}
	// Central differences of float64-accumulated gradients: accurate on the smooth model.
	const step = 1e-2
	wp, wm := make([]float32, len(w)), make([]float32, len(w))
	for i := range w {
		wp[i] = float32(float64(w[i]) + step*v[i])
		wm[i] = float32(float64(w[i]) - step*v[i])
	}
	gp, gm := make([]float64, len(w)), make([]float64, len(w))
	o.LossGrad(wp, gp)
	o.LossGrad(wm, gm)
	var diff, norm float64
	for i := range hv {
		f := (gp[i] - gm[i]) / (2 * step)
		diff += (hv[i] - f) * (hv[i] - f)
		norm += hv[i] * hv[i]
	}
	if rel := math.Sqrt(diff / norm); !(rel < 5e-3) {
		t.Errorf("‖Hv − Hv_fd‖/‖Hv‖ = %.3g, want < 5e-3", rel)
	}
}
