package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// specials are the inputs where ReLU's and its mask's rules matter: signed zeros, NaNs of both
// signs, infinities, subnormals.
var specials = []float32{0, float32(math.Copysign(0, -1)), float32(math.NaN()), -float32(math.NaN()),
	float32(math.Inf(1)), float32(math.Inf(-1)), 1e-42, -1e-42, 1, -1}

func reluInputs(n int, rng *rand.Rand) []float32 {
	x := make([]float32, n)
	for i := range x {
		if rng.IntN(4) == 0 {
			x[i] = specials[rng.IntN(len(specials))]
		} else {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

// sameBits: equal bits, or both NaN (a NaN's sign and payload are not specified: Go's max
// returns a fresh NaN, the vector kernels the operand's).
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}

// TestReLUKernels compares AddBias, ReLU and ReLUMask (vector kernels where the CPU has them,
// split over threads for long vectors) with the plain Go rules, bit for bit, on lengths around
// the kernels' block of 16 and the split threshold, with NaNs, signed zeros and infinities.
func TestReLUKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	defer SetThreads(SetThreads(3))
	for _, n := range []int{0, 1, 15, 16, 17, 33, 200, 2*splitMin + 5} {
		x := reluInputs(n, rng)
		for _, b := range []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.25} {
			for _, on := range []bool{false, true} {
				got := append([]float32(nil), x...)
				AddBias(got, b, on)
				for i, v := range x {
					want := v + b
					if on {
						want = max(want, 0)
					}
					if !sameBits(got[i], want) {
						t.Fatalf("AddBias(n=%d, b=%v, relu=%v)[%d] of %v = %v (%#x), want %v (%#x)", n, b, on, i, v, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
					}
				}
			}
		}
		y := make([]float32, n)
		ReLU(y, x)
		for i, v := range x {
			if want := max(v, 0); !sameBits(y[i], want) {
				t.Fatalf("ReLU(n=%d)[%d] of %v = %v, want %v", n, i, v, y[i], want)
			}
		}
		b := reluInputs(n, rng)
		s := make([]float32, n)
		AddReLU(s, x, b)
		for i, v := range x {
			if want := max(v+b[i], 0); !sameBits(s[i], want) {
				t.Fatalf("AddReLU(n=%d)[%d] of %v + %v = %v (%#x), want %v (%#x)", n, i, v, b[i], s[i], math.Float32bits(s[i]), want, math.Float32bits(want))
			}
		}
		dy := reluInputs(n, rng)
		dx := make([]float32, n)
		ReLUMask(dx, dy, x) // x as the mask source: every bit pattern, not only ReLU outputs
		for i, m := range x {
			bits := math.Float32bits(m)
			want := dy[i]
			if int32(bits-1) < 0 {
				want = 0
			}
			if math.Float32bits(dx[i]) != math.Float32bits(want) {
				t.Fatalf("ReLUMask(n=%d)[%d] with y=%v (%#x): %v, want %v", n, i, m, bits, dx[i], want)
			}
		}
	}
}
