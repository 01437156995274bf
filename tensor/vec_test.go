package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAxpyScale(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 3, 4, 5, 17, 100} {
		x := randSlice(r, n)
		y := randSlice(r, n+2) // extra tail must be untouched
		y0 := append([]float32(nil), y...)
		Axpy(-1.5, x, y)
		for i := range y {
			want := y0[i]
			if i < n {
				want = y0[i] + float32(-1.5*x[i])
			}
			if y[i] != want {
				t.Fatalf("Axpy n=%d: y[%d] = %g, want %g", n, i, y[i], want)
			}
		}
		x0 := append([]float32(nil), x...)
		Scale(0.25, x)
		for i := range x {
			if x[i] != 0.25*x0[i] {
				t.Fatalf("Scale n=%d: x[%d] = %g", n, i, x[i])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Axpy with short y did not panic")
		}
	}()
	Axpy(1, make([]float32, 3), make([]float32, 2))
}

func TestDot64SumSq64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 33, 1000, 1027} {
		x := randSlice(r, n)
		y := randSlice(r, n)
		// Reference with the documented order, products and sums unfused.
		var s, q [16]float64
		m := n &^ 15
		for i := 0; i < m; i++ {
			s[i%16] += float64(x[i]) * float64(y[i])
			q[i%16] += float64(x[i]) * float64(x[i])
		}
		order := func(p [16]float64) float64 {
			var t [4]float64
			for l := range t {
				t[l] = (p[l] + p[4+l]) + (p[8+l] + p[12+l])
			}
			return (t[0] + t[2]) + (t[1] + t[3])
		}
		d, e := order(s), order(q)
		for i := m; i < n; i++ {
			d += float64(x[i]) * float64(y[i])
			e += float64(x[i]) * float64(x[i])
		}
		if got := Dot64(x, y); got != d {
			t.Fatalf("Dot64 n=%d = %v, want %v", n, got, d)
		}
		if got := SumSq64(x); got != e {
			t.Fatalf("SumSq64 n=%d = %v, want %v", n, got, e)
		}
		// And it is close to the plain sum.
		var plain float64
		for i := range x {
			plain += float64(x[i]) * float64(y[i])
		}
		if math.Abs(plain-d) > 1e-12*float64(n+1) {
			t.Fatalf("Dot64 n=%d far from plain sum", n)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Dot64 length mismatch did not panic")
		}
	}()
	Dot64(make([]float32, 3), make([]float32, 2))
}

// TestVecSubslices runs the helpers on unaligned subslices of every length up to 70, so that the
// assembly loops (multiples of 16) and the Go tails both run, and compares with plain Go.
func TestVecSubslices(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	buf := randSlice(r, 200)
	for off := range 3 {
		for n := 0; n <= 70; n++ {
			x := buf[off : off+n]
			y := append([]float32(nil), buf[100+off:100+off+n+1]...) // one extra element, untouched
			want := append([]float32(nil), y...)
			for i := range n {
				want[i] += float32(0.3 * x[i])
			}
			Axpy(0.3, x, y)
			for i := range want {
				if y[i] != want[i] {
					t.Fatalf("Axpy off=%d n=%d: y[%d] = %g, want %g", off, n, i, y[i], want[i])
				}
			}
			dst := make([]float32, n+1)
			AddScaled(dst, buf[100+off:], -1.7, x)
			for i := range n {
				if w := buf[100+off+i] + float32(-1.7*x[i]); dst[i] != w {
					t.Fatalf("AddScaled off=%d n=%d: dst[%d] = %g, want %g", off, n, i, dst[i], w)
				}
			}
			if dst[n] != 0 {
				t.Fatalf("AddScaled n=%d wrote past len(x)", n)
			}
			mask := randSlice(r, n)
			dst2 := make([]float32, n)
			AddScaledMul(dst2, buf[100+off:], 0.7, x, mask)
			for i := range n {
				if w := buf[100+off+i] + float32(float32(0.7*x[i])*mask[i]); dst2[i] != w {
					t.Fatalf("AddScaledMul off=%d n=%d: dst[%d] = %g, want %g", off, n, i, dst2[i], w)
				}
			}
			// In place: dst = x.
			z := append([]float32(nil), x...)
			AddScaled(z, y, 2, z)
			for i := range n {
				if w := y[i] + float32(2*x[i]); z[i] != w {
					t.Fatalf("AddScaled in place n=%d: z[%d] = %g, want %g", n, i, z[i], w)
				}
			}
		}
	}
}

func TestFinite(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, n := range []int{0, 1, 5, 16, 17, 31, 32, 100, 1000} {
		x := randSlice(r, n)
		for i := range x {
			x[i] *= 1e30 // large but finite; x·0 is still 0
		}
		if !Finite(x) {
			t.Fatalf("n=%d: finite vector reported not finite", n)
		}
		for i := range n {
			for _, b := range bad {
				old := x[i]
				x[i] = b
				if Finite(x) {
					t.Fatalf("n=%d: %g at %d not detected", n, b, i)
				}
				x[i] = old
			}
		}
	}
	if !Finite([]float32{float32(math.MaxFloat32), -float32(math.MaxFloat32), float32(math.SmallestNonzeroFloat32)}) {
		t.Fatal("extreme finite values reported not finite")
	}
}

// BenchmarkVec measures the vector helpers on a vector the size of the
// 784-256-256-10 MLP's parameters (269,322 floats, 1 MiB: L2-resident).
func BenchmarkVec(b *testing.B) {
	const n = 269322
	r := rand.New(rand.NewPCG(1, 2))
	x, y := randSlice(r, n), randSlice(r, n)
	report := func(b *testing.B, bytesPerElem int) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gelem/s")
		b.SetBytes(int64(n * bytesPerElem))
	}
	b.Run("Axpy", func(b *testing.B) {
		for b.Loop() {
			Axpy(1e-3, x, y)
		}
		report(b, 12)
	})
	b.Run("AddScaled", func(b *testing.B) {
		z := make([]float32, n)
		for b.Loop() {
			AddScaled(z, y, 1e-3, x)
		}
		report(b, 12)
	})
	b.Run("Bernoulli", func(b *testing.B) {
		m := make([]float32, n)
		s := NewBernoulli(0.5, 1)
		for b.Loop() {
			s.Fill(m)
		}
		report(b, 4)
	})
	b.Run("Finite", func(b *testing.B) {
		for b.Loop() {
			_ = Finite(x)
		}
		report(b, 4)
	})
	b.Run("AdamStep", func(b *testing.B) {
		m, v := make([]float32, n), make([]float32, n)
		c := AdamCoeffs{B1: 0.9, OneMinusB1: 0.1, B2: 0.999, OneMinusB2: 0.001, Sqrt2: 1, Eps: 1e-8, Step: 1e-9}
		for b.Loop() {
			AdamStep(y, x, m, v, c)
		}
		report(b, 16)
	})
	b.Run("Scale", func(b *testing.B) {
		for b.Loop() {
			Scale(1, y)
		}
		report(b, 8)
	})
	b.Run("Dot64", func(b *testing.B) {
		for b.Loop() {
			_ = Dot64(x, y)
		}
		report(b, 8)
	})
	b.Run("SumSq64", func(b *testing.B) {
		for b.Loop() {
			_ = SumSq64(x)
		}
		report(b, 4)
	})
}

// TestAdamStep compares the update (assembly bulk and Go tail) with a float64-free reference
// written out operation by operation, on lengths around the 8-element blocks.
func TestAdamStep(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	c := AdamCoeffs{B1: 0.9, OneMinusB1: 1 - float32(0.9), B2: 0.999, OneMinusB2: 1 - float32(0.999),
		Sqrt2: 0.0447, Eps: 1e-8, Step: 0.0052}
	for _, n := range []int{0, 1, 7, 8, 9, 16, 23, 100} {
		w, g, m := randSlice(r, n), randSlice(r, n), randSlice(r, n)
		v := randSlice(r, n)
		for i := range v {
			v[i] *= v[i] // second moments are ≥ 0
		}
		w0, m0, v0 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		for step := range 3 {
			AdamStep(w, g, m, v, c)
			for i := range n {
				mi := float32(c.B1*m0[i]) + float32(c.OneMinusB1*g[i])
				vi := float32(c.B2*v0[i]) + float32(float32(c.OneMinusB2*g[i])*g[i])
				den := float32(float32(math.Sqrt(float64(vi)))/c.Sqrt2) + c.Eps
				wi := w0[i] - float32(c.Step*mi)/den
				if m[i] != mi || v[i] != vi || w[i] != wi {
					t.Fatalf("n=%d step %d i=%d: (w,m,v) = (%g,%g,%g), want (%g,%g,%g)", n, step, i, w[i], m[i], v[i], wi, mi, vi)
				}
				w0[i], m0[i], v0[i] = wi, mi, vi
			}
		}
	}
}

// TestBernoulli checks the mask stream against a reference written from its documentation
// (assembly bulk and Go tail alike), and its statistics.
func TestBernoulli(t *testing.T) {
	for _, p := range []float64{0.5, 0.6, 0.95, 1.0 / 65536} {
		b, ref := NewBernoulli(p, 42), NewBernoulli(p, 42)
		if want := math.Round(p*65536) / 65536; b.P() != want {
			t.Fatalf("P() = %v, want %v", b.P(), want)
		}
		for _, n := range []int{32, 5, 16, 65, 0, 1000} {
			got := make([]float32, n)
			b.Fill(got)
			for i := 0; i < n; i += 32 {
				for l := range ref.state {
					x := ref.state[l]
					x ^= x << 13
					x ^= x >> 7
					x ^= x << 17
					ref.state[l] = x
				}
				for k := 0; k < 32 && i+k < n; k++ {
					want := float32(0)
					if uint16(ref.state[k/4]>>(16*(k%4))) <= ref.tm1 {
						want = float32(1 / b.P())
					}
					if got[i+k] != want {
						t.Fatalf("p=%g n=%d: element %d = %g, want %g", p, n, i+k, got[i+k], want)
					}
				}
			}
		}
	}
	// Each of the 32 positions of a step is kept with probability P, and the mean value is 1.
	b := NewBernoulli(0.6, 7)
	const steps = 40000
	m := make([]float32, 32*steps)
	b.Fill(m)
	var kept [32]int
	var sum float64
	for i, v := range m {
		if v != 0 {
			kept[i%32]++
		}
		sum += float64(v)
	}
	for k, c := range kept {
		if f := float64(c) / steps; math.Abs(f-b.P()) > 0.012 { // 5 standard deviations
			t.Fatalf("position %d kept with frequency %.4f, want %.4f", k, f, b.P())
		}
	}
	if mean := sum / float64(len(m)); math.Abs(mean-1) > 0.01 {
		t.Fatalf("mean value %.4f, want 1", mean)
	}
	// Different seeds give different masks.
	a, c := make([]float32, 64), make([]float32, 64)
	NewBernoulli(0.5, 1).Fill(a)
	NewBernoulli(0.5, 2).Fill(c)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Fatal("seeds 1 and 2 give the same mask")
	}
}

// TestMaxPool2 compares the pooled row and its arg-max (the first maximum among a, b, c, d) with
// a direct loop, on lengths that use the assembly blocks and the Go tail, with many ties.
func TestMaxPool2(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := 0; n <= 40; n++ {
		row0, row1 := randSlice(r, 2*n+1), randSlice(r, 2*n+3)
		for i := range row0 {
			row0[i] = float32(math.Round(float64(row0[i])))
		}
		for i := range row1 {
			row1[i] = float32(math.Round(float64(row1[i])))
		}
		y, arg := make([]float32, n), make([]int32, n)
		MaxPool2(y, arg, row0, row1, 1000, 5000)
		for j := range n {
			vals := []float32{row0[2*j], row0[2*j+1], row1[2*j], row1[2*j+1]}
			idx := []int32{1000 + int32(2*j), 1000 + int32(2*j+1), 5000 + int32(2*j), 5000 + int32(2*j+1)}
			best, at := vals[0], idx[0]
			for k := 1; k < 4; k++ {
				if vals[k] > best {
					best, at = vals[k], idx[k]
				}
			}
			if y[j] != best || arg[j] != at {
				t.Fatalf("n=%d j=%d: (%g, %d), want (%g, %d); window %v", n, j, y[j], arg[j], best, at, vals)
			}
		}
	}
}

// TestVecLongSplit: on vectors long enough to be split over threads, the elementwise helpers
// give the same bits on 1 and 2 threads and match the plain loops.
func TestVecLongSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	n := 3*splitMin + 7
	x, y, mask := randSlice(r, n), randSlice(r, n), randSlice(r, n)
	c := AdamCoeffs{B1: 0.9, OneMinusB1: 0.1, B2: 0.999, OneMinusB2: 0.001, Sqrt2: 0.5, Eps: 1e-8, Step: 0.01}
	run := func(threads int) [][]float32 {
		defer SetThreads(SetThreads(threads))
		a := append([]float32(nil), y...)
		Axpy(0.5, x, a)
		b := make([]float32, n)
		AddScaled(b, y, -0.25, x)
		m := make([]float32, n)
		AddScaledMul(m, y, 0.75, x, mask)
		w, mm, vv := append([]float32(nil), y...), make([]float32, n), make([]float32, n)
		AdamStep(w, x, mm, vv, c)
		return [][]float32{a, b, m, w, mm, vv}
	}
	one, two := run(1), run(2)
	// The reductions: the same bits on 1 and 2 threads, in the documented chunk order.
	red := func(threads int) [3]float64 {
		defer SetThreads(SetThreads(threads))
		fin := 0.0
		if Finite(x) {
			fin = 1
		}
		return [3]float64{Dot64(x, y), SumSq64(x), fin}
	}
	r1, r2 := red(1), red(2)
	if r1 != r2 || r1[2] != 1 {
		t.Fatalf("reductions on 1 thread %v, on 2 threads %v", r1, r2)
	}
	cs := ChunkSize(n, splitMin)
	var d, q float64
	for lo := 0; lo < n; lo += cs {
		hi := min(lo+cs, n)
		d += dot64(x[lo:hi], y[lo:hi])
		q += sumSq64(x[lo:hi])
	}
	if r1[0] != d || r1[1] != q {
		t.Fatalf("Dot64, SumSq64 = %v, %v; chunk order gives %v, %v", r1[0], r1[1], d, q)
	}
	bad := append([]float32(nil), x...)
	bad[n-3] = float32(math.Inf(1))
	if Finite(bad) {
		t.Fatal("Inf in the last chunk not detected")
	}
	for k := range one {
		for i := range one[k] {
			if one[k][i] != two[k][i] {
				t.Fatalf("output %d differs at %d between 1 and 2 threads", k, i)
			}
		}
	}
	for i := range n {
		if one[0][i] != y[i]+float32(0.5*x[i]) || one[1][i] != y[i]+float32(-0.25*x[i]) ||
			one[2][i] != y[i]+float32(float32(0.75*x[i])*mask[i]) {
			t.Fatalf("element %d differs from the plain loop", i)
		}
	}
}

// TestAxpyShortNoAlloc: short calls (col2im adds rows of a few dozen floats) do not allocate.
func TestAxpyShortNoAlloc(t *testing.T) {
	x, y := make([]float32, 28), make([]float32, 28)
	if a := testing.AllocsPerRun(100, func() { Axpy(1, x, y); AddScaled(y, y, 1, x) }); a != 0 {
		t.Fatalf("%v allocations per call", a)
	}
}
