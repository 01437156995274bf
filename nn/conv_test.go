package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// TestIm2colSame checks the one-copy-per-tap im2col and col2im of same convolutions against
// the general row-segment loops, bit for bit, on shapes with every kernel size and padding that
// keeps the size (and images narrower than the kernel), at a column offset inside a wider
// matrix as Forward uses them.
func TestIm2colSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ c, h, w, k int }{{1, 28, 28, 3}, {3, 5, 7, 3}, {2, 4, 4, 5}, {2, 2, 3, 5}, {1, 1, 1, 3}, {4, 6, 5, 1}, {2, 9, 3, 7}} {
		l := &Conv2D{Out: 2, K: s.k, Pad: (s.k - 1) / 2}
		if _, err := l.Build(&param.Layout{}, "c", []int{s.c, s.h, s.w}); err != nil {
			t.Fatal(err)
		}
		if !l.same() {
			t.Fatalf("%+v: not a same convolution", s)
		}
		checkColumns(t, fmt.Sprintf("%+v", s), l, rng)
	}
}

// TestIm2colPoly checks the phase-image im2col and col2im of strided convolutions against the
// general row-segment loops, bit for bit, on shapes with strides 2 and 3, odd and even kernels
// and paddings, at a column offset inside a wider matrix.
func TestIm2colPoly(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ c, h, w, k, stride, pad int }{
		{16, 28, 28, 3, 2, 1}, {3, 14, 14, 3, 2, 1}, {2, 6, 8, 3, 2, 1}, {2, 9, 6, 3, 3, 1}, {1, 8, 8, 4, 2, 1},
		{2, 6, 6, 2, 2, 0}, {1, 2, 2, 3, 2, 1}, {2, 10, 10, 5, 2, 2},
	} {
		l := &Conv2D{Out: 2, K: s.k, Stride: s.stride, Pad: s.pad}
		if _, err := l.Build(&param.Layout{}, "c", []int{s.c, s.h, s.w}); err != nil {
			t.Fatal(err)
		}
		if !l.poly() {
			t.Fatalf("%+v: not a phase-image convolution (output %d×%d)", s, l.oh, l.ow)
		}
		checkColumns(t, fmt.Sprintf("%+v", s), l, rng)
	}
}

// checkColumns compares l's im2col and col2im with the general loops (im2colAny, col2imAny)
// bit for bit, on a random image, with the columns at an offset inside wider rows and every
// output first set to NaN (which the copies must overwrite).
func checkColumns(t *testing.T, name string, l *Conv2D, rng *rand.Rand) {
	t.Helper()
	in, p, ckk := l.c*l.h*l.w, l.oh*l.ow, l.c*l.K*l.K
	x := make([]float32, in)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	const off, extra = 3, 5 // this example's columns start at off in rows of ld
	ld := p + off + extra
	got, want := make([]float32, ckk*ld), make([]float32, ckk*ld)
	for i := range got {
		got[i], want[i] = float32(math.NaN()), float32(math.NaN())
	}
	tmp := make([]float32, in)
	l.im2col(x, got, off, ld, tmp)
	l.im2colAny(x, want, off, ld)
	for r := 0; r < ckk; r++ {
		for j := off; j < off+p; j++ {
			if math.Float32bits(got[r*ld+j]) != math.Float32bits(want[r*ld+j]) {
				t.Fatalf("%s: im2col row %d col %d: %v, want %v", name, r, j-off, got[r*ld+j], want[r*ld+j])
			}
		}
	}
	cols := make([]float32, ckk*ld)
	for i := range cols {
		cols[i] = float32(rng.NormFloat64())
	}
	cols2 := append([]float32(nil), cols...) // col2im may zero wrapped entries of its input
	dg, dw := make([]float32, in), make([]float32, in)
	for i := range dg {
		dg[i] = float32(math.NaN()) // every element must be written
	}
	l.col2im(cols2, off, ld, dg, tmp)
	l.col2imAny(cols, off, ld, dw)
	for i := range dg {
		if math.Float32bits(dg[i]) != math.Float32bits(dw[i]) {
			t.Fatalf("%s: col2im element %d: %v, want %v", name, i, dg[i], dw[i])
		}
	}
}

// TestConvReLUFused checks that the model's own passes, which compute a convolution's ReLU
// inside it (Model.fused), give the same outputs and gradients, bit for bit, as the layers
// called one by one (as package sharpness calls them), also on a subset of rows (GradRows).
func TestConvReLUFused(t *testing.T) {
	m, err := Build(Spec{Model: "cnn", Input: []int{2, 10, 10}, Outputs: 3, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	if m.fused(0) != 2 || m.fused(3) != 2 || m.fused(6) != 0 {
		t.Fatal("the cnn's convolution+ReLU+pooling triples are not fused")
	}
	testFused(t, m, func() *Model { r, _ := Build(m.Spec); return r })
	// A convolution and ReLU without pooling (fused(0) == 1), with a strided second convolution.
	build := func() *Model {
		r, _ := Build(Spec{Model: "cnn", Input: []int{2, 10, 10}, Outputs: 3, Loss: "ce"})
		r.Layers = []Layer{&Conv2D{Out: 4, K: 3, Pad: 1}, &Activation{Func: "relu"}, &Conv2D{Out: 3, K: 3, Stride: 2}, &Activation{Func: "relu"}, &Dense{Out: 3}}
		r.Layout = param.Layout{}
		shape := []int{2, 10, 10}
		for i, l := range r.Layers {
			var err error
			if shape, err = l.Build(&r.Layout, fmt.Sprintf("l%d", i), shape); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	m2 := build()
	if m2.fused(0) != 1 || m2.fused(2) != 1 {
		t.Fatal("convolution+ReLU pairs are not fused")
	}
	testFused(t, m2, build)
}

// testFused compares m's own passes with m's layers called one by one on a twin from build.
func testFused(t *testing.T, m *Model, build func() *Model) {
	t.Helper()
	w, _ := m.Init("default", 2)
	const n = 6
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, n*m.InDim())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := []int32{0, 1, 2, 2, 1, 0}
	tg := Target{Labels: labels}
	g := make([]float32, len(w))
	loss, _ := m.Grad(&Ctx{Train: true}, w, g, x, n, tg)

	// Layer by layer, unfused.
	ref := build()
	h := x
	for _, l := range ref.Layers {
		h = l.Forward(&Ctx{Train: true}, w, h, n)
	}
	d := make([]float32, n*3)
	refLoss := ref.Loss.Eval(h, n, 3, tg, d)
	gr := make([]float32, len(w))
	for i := len(ref.Layers) - 1; i >= 0; i-- {
		d = ref.Layers[i].Backward(&Ctx{Train: true}, w, gr, d, n, i > 0)
	}
	if loss != refLoss {
		t.Fatalf("loss %v, layer by layer %v", loss, refLoss)
	}
	for i := range g {
		if math.Float32bits(g[i]) != math.Float32bits(gr[i]) {
			t.Fatalf("gradient %d: fused %v, layer by layer %v", i, g[i], gr[i])
		}
	}

	// GradRows on rows 1, 4 after a fused forward equals Grad on those rows alone.
	m.Forward(&Ctx{Train: true}, w, x, n)
	gs := make([]float32, len(w))
	ls := m.GradRows(&Ctx{Train: true}, w, gs, tg, []int{1, 4})
	in := m.InDim()
	x2 := append(append([]float32(nil), x[in:2*in]...), x[4*in:5*in]...)
	g2 := make([]float32, len(w))
	l2, _ := ref.Grad(&Ctx{Train: true}, w, g2, x2, 2, Target{Labels: []int32{labels[1], labels[4]}})
	if math.Abs(ls-l2) > 1e-6*math.Abs(l2) {
		t.Fatalf("GradRows loss %v, Grad on the rows %v", ls, l2)
	}
	for i := range gs {
		if d := math.Abs(float64(gs[i] - g2[i])); d > 1e-5*(1+math.Abs(float64(g2[i]))) {
			t.Fatalf("GradRows gradient %d: %v, Grad on the rows %v", i, gs[i], g2[i])
		}
	}
}

// TestConvThreads: the gradients of the convolutional models are bit-identical on 1, 2, 3 and
// 7 threads (the weight gradient's chunk grouping depends on the batch size only), for batch
// sizes that give uneven chunks and groups, with the direct convolutions and with the Winograd
// ones.
func TestConvThreads(t *testing.T) {
	for _, spec := range []Spec{
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce"},
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce"},
		{Model: "wrn", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Depth: 10, Width: 1},
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce", Conv: "winograd"},
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Blocks: 2, Conv: "winograd"},
		{Model: "wrn", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Depth: 10, Width: 1, Conv: "winograd"},
	} {
		for _, n := range []int{1, 37, 130} {
			var ref []float32
			for _, th := range []int{1, 2, 3, 7} {
				old := tensor.SetThreads(th)
				m, err := Build(spec)
				if err != nil {
					t.Fatal(err)
				}
				w, _ := m.Init("default", 3)
				x, labels := randomBatch(m, n, uint64(n))
				g := make([]float32, len(w))
				m.Grad(&Ctx{Train: true}, w, g, x, n, Target{Labels: labels})
				tensor.SetThreads(old)
				if ref == nil {
					ref = g
					continue
				}
				for i := range g {
					if math.Float32bits(g[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("%s n=%d: %d threads: gradient %d = %v, 1 thread %v", spec.Model, n, th, i, g[i], ref[i])
					}
				}
			}
		}
	}
}

// TestFusionOff: every model's loss, gradient and BatchNorm running statistics are the same,
// bit for bit, with the fused passes (convolution+ReLU(+pooling), BatchNorm+ReLU, also inside
// residual blocks) as with every layer on its own, in training and evaluation mode.
func TestFusionOff(t *testing.T) {
	for _, spec := range []Spec{
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce"},
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Blocks: 2},
		{Model: "wrn", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Depth: 10, Width: 1},
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce", Conv: "winograd"},
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Blocks: 2, Conv: "winograd"},
		{Model: "wrn", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Depth: 10, Width: 1, Conv: "winograd"},
	} {
		run := func(off bool) ([]float32, []float32, float64, float64) {
			noFusion = off
			defer func() { noFusion = false }()
			m, err := Build(spec)
			if err != nil {
				t.Fatal(err)
			}
			w, _ := m.Init("default", 4)
			const n = 9
			x, labels := randomBatch(m, n, 9)
			g := make([]float32, len(w))
			loss, _ := m.Grad(&Ctx{Train: true}, w, g, x, n, Target{Labels: labels})
			var stats []float32
			for _, b := range m.Buffers() {
				stats = append(stats, b.Data...)
			}
			eval, _ := m.Evaluate(w, x, n, Target{Labels: labels}, 4)
			return g, stats, loss, eval
		}
		g1, s1, l1, e1 := run(false)
		g0, s0, l0, e0 := run(true)
		if l1 != l0 || e1 != e0 {
			t.Fatalf("%s: loss %v / eval %v fused, %v / %v unfused", spec.Model, l1, e1, l0, e0)
		}
		for i := range g0 {
			if math.Float32bits(g1[i]) != math.Float32bits(g0[i]) {
				t.Fatalf("%s: gradient %d: %v fused, %v unfused", spec.Model, i, g1[i], g0[i])
			}
		}
		for i := range s0 {
			if math.Float32bits(s1[i]) != math.Float32bits(s0[i]) {
				t.Fatalf("%s: running statistic %d: %v fused, %v unfused", spec.Model, i, s1[i], s0[i])
			}
		}
	}
}

// randomBatch returns n standard-normal examples for m and labels among 4 classes, drawn from
// seed.
func randomBatch(m *Model, n int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*m.InDim())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(4))
	}
	return x, labels
}

// TestForks: the forks of a model without batch statistics or random draws evaluate disjoint
// rows at the same time, each on its goroutine, with the model's own bits on those rows; models
// with BatchNorm or dropout have none.
func TestForks(t *testing.T) {
	for _, spec := range []Spec{
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce"},
		{Model: "mlp", Input: []int{20}, Hidden: []int{16}, Outputs: 4, Loss: "ce", Dropout: 0.1},
	} {
		m, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		if fs, err := m.Forks(2); fs != nil || err != nil {
			t.Fatalf("%s: %d forks (%v), want none", m.Describe(), len(fs), err)
		}
	}
	for _, spec := range []Spec{
		{Model: "mlp", Input: []int{20}, Hidden: []int{16, 8}, Outputs: 4, Loss: "ce"},
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce"},
		{Model: "cnn", Input: []int{1, 12, 12}, Outputs: 4, Loss: "ce", Conv: "winograd"},
	} {
		m, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := m.Forks(3)
		if err != nil || len(fs) != 3 {
			t.Fatalf("%s: %d forks (%v), want 3", m.Describe(), len(fs), err)
		}
		w, _ := m.Init("default", 5)
		const n, rows = 40, 10
		x, labels := randomBatch(m, n, 7)
		d := m.InDim()
		grad := func(m *Model, r int) []float32 {
			g := make([]float32, len(w))
			m.Grad(&Ctx{Train: true}, w, g, x[r*rows*d:(r+1)*rows*d], rows, Target{Labels: labels[r*rows : (r+1)*rows]})
			return g
		}
		want := make([][]float32, n/rows)
		for r := range want {
			want[r] = grad(m, r)
		}
		got := make([][]float32, n/rows)
		var wg sync.WaitGroup
		for r, f := range append([]*Model{m}, fs...) {
			wg.Go(func() { got[r] = grad(f, r) })
		}
		wg.Wait()
		for r := range want {
			for i := range want[r] {
				if math.Float32bits(got[r][i]) != math.Float32bits(want[r][i]) {
					t.Fatalf("%s: rows %d: gradient %d = %v at the same time, %v alone", m.Describe(), r, i, got[r][i], want[r][i])
				}
			}
		}
	}
}

// TestThreadsChangeMidPass: SetThreads called by another goroutine while a pass runs (as
// m-sharpness on forks does, beside the other trials of an in-process sweep) changes no bit and
// never overruns the per-thread scratch that the pass sized by its own reading.
func TestThreadsChangeMidPass(t *testing.T) {
	defer tensor.SetThreads(tensor.SetThreads(2))
	for _, spec := range []Spec{
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce"},
		{Model: "resnet", Input: []int{3, 8, 8}, Outputs: 4, Loss: "ce", Blocks: 2, Conv: "winograd"},
	} {
		m, err := Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := m.Init("default", 3)
		const n = 37
		x, labels := randomBatch(m, n, 11)
		grad := func() []float32 {
			g := make([]float32, len(w))
			m.Grad(&Ctx{Train: true}, w, g, x, n, Target{Labels: labels})
			return g
		}
		want := grad()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
					tensor.SetThreads(1 + 2*(i%2)) // 1, 3, 1, 3, …
					runtime.Gosched()
				}
			}
		})
		for range 20 {
			g := grad()
			for i := range g {
				if math.Float32bits(g[i]) != math.Float32bits(want[i]) {
					close(stop)
					wg.Wait()
					t.Fatalf("%s: gradient %d = %v with the thread count changing, %v before", m.Describe(), i, g[i], want[i])
				}
			}
		}
		close(stop)
		wg.Wait()
		tensor.SetThreads(2)
	}
}
