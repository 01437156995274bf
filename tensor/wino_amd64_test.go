//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestWinoAsm checks the AVX-512 and the AVX2 transforms against the portable ones, bit for
// bit, with random masks (masked lanes neither read nor written) and scattered additions.
func TestWinoAsm(t *testing.T) {
	isas := []string{}
	if hasAVX512 {
		isas = append(isas, "avx512")
	}
	if hasAVX2FMA {
		isas = append(isas, "avx2")
	}
	if len(isas) == 0 {
		t.Skip("neither AVX-512 nor AVX2 on this CPU: the portable transforms are the only ones")
	}
	defer func(old string) { winoISA = old }(winoISA)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, isa := range isas {
		for kind := WinoInput; kind <= WinoWeightsGrad; kind++ {
			for trial := 0; trial < 5; trial++ {
				c := newWinoCase(kind, rng, trial == 0)
				if trial == 4 && kind == WinoInputGrad {
					// Tiles 4 apart in 6×6 windows, as the convolution's: lanes l and l+1
					// add into the same elements through different values, in value order.
					for l := range c.idx {
						c.idx[l] = int32(4 * l)
					}
					for v := range c.dstOff {
						c.dstOff[v] = v/6*200 + v%6
					}
					c.dstStep = 6 * 200
					c.dst = make([]float32, c.n*c.dstStep)
					for i := range c.dst {
						c.dst[i] = float32(rng.NormFloat64())
					}
				}
				a, b := append([]float32(nil), c.dst...), append([]float32(nil), c.dst...)
				winoISA = isa
				c.run(a, true)
				c.run(b, false)
				for i := range a {
					if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
						t.Fatalf("%s kind %d trial %d: element %d: asm %g, Go %g", isa, kind, trial, i, a[i], b[i])
					}
				}
			}
		}
	}
}
