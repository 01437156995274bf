package sharpness

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
)

// mnistLike is a 784-256-256-10 ReLU MLP at its default initialisation and 10,000 examples of
// 784 features with a class signal, like standardised MNIST.
func mnistLike(b testing.TB) (*Objective, []float32) {
	const n, d, k = 10000, 784, 10
	rng := rand.New(rand.NewPCG(1, 1))
	centres := make([]float32, k*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64())
	}
	s := &data.Set{Shape: []int{1, 28, 28}, X: make([]float32, n*d), Labels: make([]int32, n), Classes: k}
	for i := range n {
		c := rng.IntN(k)
		s.Labels[i] = int32(c)
		for j := range d {
			s.X[i*d+j] = centres[c*d+j] + float32(rng.NormFloat64())
		}
	}
	m, err := nn.Build(nn.Spec{Model: "mlp", Input: []int{1, 28, 28}, Outputs: k, Hidden: []int{256, 256}, Loss: "ce"})
	if err != nil {
		b.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	o, err := NewObjective(m, s, 0)
	if err != nil {
		b.Fatal(err)
	}
	return o, w
}

// BenchmarkLambdaMax measures λ_max of the 784-256-256-10 MLP on 10,000 examples: exact
// Hessian-vector products with the forward/backward passes of each batch kept, Lanczos to a
// relative residual of 1e-3 (34 products). Issue 16 asks for ≤ 3 s on this 2-core machine.
func BenchmarkLambdaMax(b *testing.B) {
	o, w := mnistLike(b)
	b.ResetTimer()
	for range b.N {
		h, err := NewHessian(o, w, Exact)
		if err != nil {
			b.Fatal(err)
		}
		e, err := TopEigen(h, 1, LanczosOptions{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(e.Values[0], "λ_max")
		b.ReportMetric(float64(h.Products), "products")
	}
}

// BenchmarkHVP compares one exact product (cache warm) with one finite-difference product (two
// gradients) on the same problem.
func BenchmarkHVP(b *testing.B) {
	o, w := mnistLike(b)
	benchProducts(b, o, w)
}

// benchProducts times one product of each method (after a first, warming one).
func benchProducts(b *testing.B, o *Objective, w []float32) {
	v := make([]float64, o.Dim())
	for i := range v {
		v[i] = 1e-3
	}
	out := make([]float64, o.Dim())
	for _, m := range []Method{Exact, FiniteDiff} {
		b.Run(m.String(), func(b *testing.B) {
			h, _ := NewHessian(o, w, m)
			h.Mul(out, v)
			b.ResetTimer()
			for range b.N {
				h.Mul(out, v)
			}
		})
	}
}

// BenchmarkHVPConv compares one exact product (the generic R-operator, passes at w kept) with one
// finite-difference product on the CNN (conv32-pool-conv64-pool-fc128) and 1,000 MNIST-shaped
// examples.
func BenchmarkHVPConv(b *testing.B) {
	o, w := convBench(b)
	benchProducts(b, o, w)
}

// BenchmarkHVPConvRatio alternates one exact and one finite-difference product on the CNN and
// reports the ratio of their total times (exact/fd), which load on a shared machine disturbs
// less than the two separate timings: both see the same interference. The 1,000 examples are
// one batch, then 4 batches of 250 (each batch's passes at w kept in its own model instance),
// then 4 batches with nothing kept (Objective.Cache < 0: the passes at w made at every product).
func BenchmarkHVPConvRatio(b *testing.B) {
	for _, tc := range []struct {
		name  string
		batch int
		cache int64
	}{{"batches=1", 1000, 0}, {"batches=4", 250, 0}, {"batches=4/nothing-kept", 250, -1}} {
		b.Run(tc.name, func(b *testing.B) {
			o, w := convBench(b)
			o.Batch, o.Cache = tc.batch, tc.cache
			v := make([]float64, o.Dim())
			for i := range v {
				v[i] = 1e-3
			}
			out := make([]float64, o.Dim())
			ex, _ := NewHessian(o, w, Exact)
			fd, _ := NewHessian(o, w, FiniteDiff)
			ex.Mul(out, v) // warm
			if !ex.warm && tc.cache >= 0 {
				b.Fatalf("the passes at w are not kept (instances of %v bytes, budget %d)", ex.genSizes, o.cacheLimit())
			}
			var te, tf time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				ex.Mul(out, v)
				t1 := time.Now()
				fd.Mul(out, v)
				te, tf = te+t1.Sub(t0), tf+time.Since(t1)
			}
			b.ReportMetric(te.Seconds()/float64(b.N), "s/exact")
			b.ReportMetric(tf.Seconds()/float64(b.N), "s/fd")
			b.ReportMetric(te.Seconds()/tf.Seconds(), "exact/fd")
		})
	}
}

// convBench is the CNN (conv32-pool-conv64-pool-fc128) on 1,000 MNIST-shaped random examples.
func convBench(b *testing.B) (*Objective, []float32) {
	const n, k = 1000, 10
	rng := rand.New(rand.NewPCG(2, 2))
	s := &data.Set{Shape: []int{1, 28, 28}, X: make([]float32, n*784), Labels: make([]int32, n), Classes: k}
	for i := range s.X {
		s.X[i] = float32(rng.NormFloat64())
	}
	for i := range s.Labels {
		s.Labels[i] = int32(rng.IntN(k))
	}
	m, err := nn.Build(nn.Spec{Model: "cnn", Input: []int{1, 28, 28}, Outputs: k, Loss: "ce"})
	if err != nil {
		b.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	o, err := NewObjective(m, s, 0)
	if err != nil {
		b.Fatal(err)
	}
	return o, w
}
