package sam_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/optimize/functions"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// linearData is the seed's linear regression: y = 2x₁ − x₂ + 0.5 plus a little noise, 16 examples.
func linearData() (x [][2]float32, y []float32) {
	for i := range 16 {
		a, b := float32(i%4)-1.5, float32(i/4)-1.5
		x = append(x, [2]float32{a, b})
		y = append(y, 2*a-b+0.5+0.05*float32(math.Sin(float64(3*i))))
	}
	return x, y
}

// linearLoss is the mean squared error of ŷ = w₁x₁ + w₂x₂ + b on examples [lo, hi), with its
// gradient: the model is three numbers and two lines of calculus.
func linearLoss(x [][2]float32, y []float32) sam.Loss {
	return func(w, g []float32, lo, hi int, second bool) float64 {
		clear(g)
		var l float64
		n := float32(hi - lo)
		for i := lo; i < hi; i++ {
			e := w[0]*x[i][0] + w[1]*x[i][1] + w[2] - y[i]
			l += float64(e * e)
			g[0] += 2 * e * x[i][0] / n
			g[1] += 2 * e * x[i][1] / n
			g[2] += 2 * e / n
		}
		return l / float64(n)
	}
}

// Example_linearRegression fits the seed's linear regression with SAM around SGD with momentum:
// the whole model is a Loss over the flat parameter vector (w₁, w₂, b), and the Layout says
// which part is a weight (for ASAM and L2) and which a bias.
func Example_linearRegression() {
	x, y := linearData()
	var layout param.Layout
	layout.Add("w", param.Weight, 2)
	layout.Add("b", param.Bias, 1)
	opt, err := sam.New(&optim.SGD{Momentum: 0.9}, &layout, sam.Config{Rho: 0.05})
	if err != nil {
		panic(err)
	}
	w := make([]float32, layout.Size())
	loss := linearLoss(x, y)
	for step := range 200 {
		lr := 0.05 * math.Pow(0.97, float64(step)) // decay: near the minimum SAM's ε keeps length ρ
		if _, err := opt.Step(w, len(y), loss, lr); err != nil {
			panic(err)
		}
	}
	fmt.Printf("w = (%.2f, %.2f), b = %.2f, loss %.4f\n", w[0], w[1], w[2], loss(w, make([]float32, 3), 0, len(y), false))
	// Output:
	// w = (2.01, -1.00), b = 0.50, loss 0.0012
}

// ExampleOptimizer_SetForks runs m-sharpness (chunks of 4 examples, each with its own ε) with its
// chunks side by side on two threads. linearLoss keeps no state of its own, so the same function
// serves as the fork; a model that keeps buffers needs one copy per fork (nn.Model.Forks). The
// weights are the same, bit for bit, as with the chunks one after another.
func ExampleOptimizer_SetForks() {
	x, y := linearData()
	var layout param.Layout
	layout.Add("w", param.Weight, 2)
	layout.Add("b", param.Bias, 1)
	fit := func(threads int, forks []sam.Loss) []float32 {
		defer tensor.SetThreads(tensor.SetThreads(threads))
		opt, err := sam.New(&optim.SGD{Momentum: 0.9}, &layout, sam.Config{Rho: 0.05, M: 4})
		if err != nil {
			panic(err)
		}
		opt.SetForks(forks)
		w := make([]float32, layout.Size())
		for step := range 200 {
			if _, err := opt.Step(w, len(y), linearLoss(x, y), 0.05*math.Pow(0.97, float64(step))); err != nil {
				panic(err)
			}
		}
		return w
	}
	one := fit(1, nil)
	two := fit(2, []sam.Loss{linearLoss(x, y)})
	same := slices.EqualFunc(one, two, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) })
	fmt.Printf("w = (%.2f, %.2f), b = %.2f; the same bits on two threads: %v\n", two[0], two[1], two[2], same)
	// Output:
	// w = (2.01, -1.00), b = 0.50; the same bits on two threads: true
}

// tanhNet is a custom model, y = Σⱼ aⱼ·tanh(uⱼx + cⱼ) + d with 8 hidden units, fitted to
// sin(x) on 32 points of [−π, π]. Its parameters live in one flat vector: u, a (weights), c, d
// (biases).
type tanhNet struct {
	layout param.Layout
	u, a   param.Span
	c, d   param.Span
	x, y   []float32
	h      []float32 // tanh(uⱼxᵢ + cⱼ) of the last evaluation
}

func newTanhNet() *tanhNet {
	m := &tanhNet{}
	m.u = m.layout.Add("hidden.weight", param.Weight, 8)
	m.c = m.layout.Add("hidden.bias", param.Bias, 8)
	m.a = m.layout.Add("out.weight", param.Weight, 8)
	m.d = m.layout.Add("out.bias", param.Bias, 1)
	for i := range 32 {
		x := -math.Pi + 2*math.Pi*float64(i)/31
		m.x, m.y = append(m.x, float32(x)), append(m.y, float32(math.Sin(x)))
	}
	m.h = make([]float32, 8)
	return m
}

// init returns starting parameters (a fixed, spread-out choice: no random numbers needed).
func (m *tanhNet) init() []float32 {
	w := make([]float32, m.layout.Size())
	for j := range 8 {
		m.u.Of(w)[j] = 0.5 + 0.1*float32(j)
		m.c.Of(w)[j] = float32(j)/3.5 - 1
		m.a.Of(w)[j] = 0.1 * float32(j%3-1)
	}
	return w
}

// loss is the model's sam.Loss: mean squared error on examples [lo, hi) and its gradient by
// the chain rule.
func (m *tanhNet) loss(w, g []float32, lo, hi int, second bool) float64 {
	clear(g)
	u, c, a, d := m.u.Of(w), m.c.Of(w), m.a.Of(w), m.d.Of(w)
	gu, gc, ga, gd := m.u.Of(g), m.c.Of(g), m.a.Of(g), m.d.Of(g)
	n := float32(hi - lo)
	var l float64
	for i := lo; i < hi; i++ {
		out := d[0]
		for j := range 8 {
			m.h[j] = float32(math.Tanh(float64(u[j]*m.x[i] + c[j])))
			out += a[j] * m.h[j]
		}
		e := out - m.y[i]
		l += float64(e * e)
		de := 2 * e / n
		gd[0] += de
		for j := range 8 {
			ga[j] += de * m.h[j]
			dz := de * a[j] * (1 - m.h[j]*m.h[j])
			gu[j] += dz * m.x[i]
			gc[j] += dz
		}
	}
	return l / float64(n)
}

// Example_customModel trains a model of your own (a one-hidden-layer tanh network written by
// hand) with ASAM around Adam, in mini-batches of 8 examples: sam.Loss is the only contract.
// The loss of sin(x)'s fit falls from 0.54 to 0.004.
func Example_customModel() {
	m := newTanhNet()
	opt, err := sam.New(&optim.Adam{}, &m.layout, sam.Config{Rho: 0.1, Adaptive: true})
	if err != nil {
		panic(err)
	}
	w := m.init()
	g := make([]float32, len(w))
	fmt.Printf("before: loss %.3f\n", m.loss(w, g, 0, 32, false))
	for epoch := range 300 {
		for lo := 0; lo < 32; lo += 8 {
			batch := func(w, g []float32, blo, bhi int, second bool) float64 {
				return m.loss(w, g, lo+blo, lo+bhi, second)
			}
			if _, err := opt.Step(w, 8, batch, 0.02*math.Pow(0.99, float64(epoch))); err != nil {
				panic(err)
			}
		}
	}
	fmt.Printf("after:  loss %.3f\n", m.loss(w, g, 0, 32, false))
	// Output:
	// before: loss 0.541
	// after:  loss 0.004
}

// ExampleGonum minimises gonum's Rosenbrock function with SAM through optimize.Minimize.
// SAM ends on the valley floor short of the minimum (1, 1), where the valley is flatter:
// the smaller ρ, the closer (see RESULTS.md).
func ExampleGonum() {
	f := functions.ExtendedRosenbrock{}
	for _, rho := range []float64{0, 0.01, 0.05} {
		res, err := optimize.Minimize(optimize.Problem{Func: f.Func, Grad: f.Grad}, []float64{-1.2, 1},
			&optimize.Settings{MajorIterations: 5001, Converger: optimize.NeverTerminate{}},
			&sam.Gonum{
				Config: sam.Config{Rho: rho},
				Base:   optim.Config{Name: "sgd", Momentum: 0.9},
				LRAt:   func(t int) float64 { return 5e-4 * 0.5 * (1 + math.Cos(math.Pi*float64(t)/5000)) },
			})
		if err != nil {
			panic(err)
		}
		fmt.Printf("ρ = %.2f: x = (%.2f, %.2f), %d gradients\n", rho, res.X[0], res.X[1], res.GradEvaluations)
	}
	// Output:
	// ρ = 0.00: x = (1.00, 1.00), 5001 gradients
	// ρ = 0.01: x = (0.96, 0.92), 10001 gradients
	// ρ = 0.05: x = (0.73, 0.54), 10001 gradients
}

// ExampleGonum_stochastic minimises a mini-batch objective: NextBatch draws the batch once per
// step, so the gradients at x and at x+ε see the same examples.
func ExampleGonum_stochastic() {
	xs, ys := linearData()
	var batch []int
	loss := func(x []float64) float64 {
		var l float64
		for _, i := range batch {
			e := x[0]*float64(xs[i][0]) + x[1]*float64(xs[i][1]) + x[2] - float64(ys[i])
			l += e * e
		}
		return l / float64(len(batch))
	}
	grad := func(g, x []float64) {
		clear(g)
		for _, i := range batch {
			e := x[0]*float64(xs[i][0]) + x[1]*float64(xs[i][1]) + x[2] - float64(ys[i])
			g[0] += 2 * e * float64(xs[i][0]) / float64(len(batch))
			g[1] += 2 * e * float64(xs[i][1]) / float64(len(batch))
			g[2] += 2 * e / float64(len(batch))
		}
	}
	m := &sam.Gonum{
		Config:    sam.Config{Rho: 0.05},
		Base:      optim.Config{Name: "sgd", Momentum: 0.9},
		LRAt:      func(t int) float64 { return 0.02 * math.Pow(0.99, float64(t)) },
		NextBatch: func(t int) { lo := 4 * (t % 4); batch = []int{lo, lo + 1, lo + 2, lo + 3} },
	}
	res, err := optimize.Minimize(optimize.Problem{Func: loss, Grad: grad}, []float64{0, 0, 0},
		&optimize.Settings{MajorIterations: 501, Converger: optimize.NeverTerminate{}}, m)
	if err != nil {
		panic(err)
	}
	fmt.Printf("w = (%.1f, %.1f), b = %.1f\n", res.X[0], res.X[1], res.X[2])
	// Output:
	// w = (2.0, -1.0), b = 0.5
}

// ExampleLookup reads one member of the SAM family from the registry (Members lists them all).
func ExampleLookup() {
	m, _ := sam.Lookup("gsam")
	fmt.Println(m.Title, "—", m.Source, "—", m.Passes, "passes per step")
	for _, p := range m.Params {
		fmt.Printf("--%s: %s\n", p.Name, p.Help)
	}
	// Output:
	// GSAM — Zhuang et al., ICLR 2022 — 2 passes per step
	// --gsam-alpha: gsam: weight α of the surrogate-gap term (update g_p − α·g_⊥)
	// --rho-min: gsam: ρ at the smallest learning rate; ρ follows the schedule up to --rho (default: --rho, constant)
}

// TestExampleGradients checks the hand-written gradients of the examples' models against
// central finite differences (in float64 on float32 parameters: a loose tolerance).
func TestExampleGradients(t *testing.T) {
	x, y := linearData()
	net := newTanhNet()
	for _, tc := range []struct {
		name string
		loss sam.Loss
		w    []float32
		n    int
	}{
		{"linear", linearLoss(x, y), []float32{0.3, -0.2, 0.1}, len(y)},
		{"tanh", net.loss, net.init(), 32},
	} {
		g := make([]float32, len(tc.w))
		tc.loss(tc.w, g, 3, tc.n-2, false)
		scratch := make([]float32, len(tc.w))
		for i := range tc.w {
			h := float32(1e-2)
			wp, wm := append([]float32(nil), tc.w...), append([]float32(nil), tc.w...)
			wp[i] += h
			wm[i] -= h
			fd := (tc.loss(wp, scratch, 3, tc.n-2, false) - tc.loss(wm, scratch, 3, tc.n-2, false)) / float64(2*h)
			if math.Abs(fd-float64(g[i])) > 2e-3*(1+math.Abs(fd)) {
				t.Errorf("%s: ∂L/∂w%d = %g, finite differences %g", tc.name, i, g[i], fd)
			}
		}
	}
}
