//go:build amd64 && !purego

package tensor

import (
	"math"
	"math/rand/v2"
	"slices"
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

// FuzzWinoTransform: on random calls (offsets, steps, lengths and masks that may reach outside
// the slices; distinct lane indices, as the contract asks) every implementation either panics,
// all of them alike, before touching memory, or gives the portable code's bits.
//
//	go test ./tensor -run '^$' -fuzz FuzzWinoTransform -fuzztime 30s
func FuzzWinoTransform(f *testing.F) {
	for i := uint64(0); i < 8; i++ {
		f.Add(uint8(i), i, uint8(2), uint16(300), uint16(400))
	}
	f.Fuzz(func(t *testing.T, kind uint8, seed uint64, n uint8, lsrc, ldst uint16) {
		k := WinoKind(kind % 6)
		nin, nout := WinoValues(k)
		rng := rand.New(rand.NewPCG(seed, 7))
		var idx [WinoLanes]int32
		perm := rng.Perm(64)
		for l := range idx {
			idx[l] = int32(perm[l]*3 - 20) // distinct, some negative
		}
		mask := make([]uint16, 36)
		for i := range mask {
			mask[i] = uint16(rng.Uint32())
		}
		// Three calls in four fit their slices; the fourth may reach outside them.
		wild := seed%4 == 0
		offs := func(m int) []int {
			o := make([]int, m)
			for i := range o {
				if o[i] = 20 + rng.IntN(100); wild {
					o[i] = rng.IntN(240) - 10
				}
			}
			return o
		}
		srcOff, dstOff := offs(nin), offs(nout)
		items := int(n%4) + 1
		srcStep, dstStep := rng.IntN(60), rng.IntN(60)
		if wild {
			srcStep, dstStep = rng.IntN(200)-4, rng.IntN(200)-4
			lsrc, ldst = lsrc%800, ldst%800
		} else {
			lsrc, ldst = 500+lsrc%300, 500+ldst%300
		}
		src := make([]float32, int(lsrc))
		for i := range src {
			src[i] = float32(rng.NormFloat64())
		}
		dst0 := make([]float32, int(ldst))
		for i := range dst0 {
			dst0[i] = float32(rng.NormFloat64())
		}
		run := func(isa string) (out []float32, panicked bool) {
			out = append([]float32(nil), dst0...)
			saveISA, saveAsm := winoISA, winoAsm
			defer func() {
				winoISA, winoAsm = saveISA, saveAsm
				if recover() != nil {
					panicked = true
					if !slices.Equal(out, dst0) {
						t.Fatalf("%s: panicked after writing", isa)
					}
				}
			}()
			winoISA, winoAsm = isa, isa != ""
			WinoTransform(k, out, src, &idx, mask, dstOff, srcOff, items, dstStep, srcStep)
			return out, false
		}
		want, wantPanic := run("")
		for _, isa := range []string{"avx512", "avx2"} {
			if (isa == "avx512" && !hasAVX512) || (isa == "avx2" && !hasAVX2FMA) {
				continue
			}
			got, p := run(isa)
			if p != wantPanic {
				t.Fatalf("%s: panicked %v, portable code %v", isa, p, wantPanic)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("%s kind %d: element %d = %g, portable %g", isa, k, i, got[i], want[i])
				}
			}
		}
	})
}
