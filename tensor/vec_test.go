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
	for _, n := range []int{0, 1, 7, 8, 9, 16, 33, 1000} {
		x := randSlice(r, n)
		y := randSlice(r, n)
		// Reference with the documented order.
		var s [8]float64
		var q [8]float64
		m := n &^ 7
		for i := 0; i < m; i++ {
			s[i%8] += float64(x[i]) * float64(y[i])
			q[i%8] += float64(x[i]) * float64(x[i])
		}
		d := ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
		e := ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]))
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
