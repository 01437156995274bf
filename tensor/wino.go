package tensor

import (
	"fmt"

	"github.com/samgo/sam/tensor/internal/wino"
)

//go:generate go run gen_wino.go

// WinoKind names one tile transform of the Winograd convolution F(4×4, 3×3) (Lavin & Gray,
// CVPR 2016): Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A for a 6×6 input tile d, 3×3 weights g and a 4×4
// output tile Y, and the adjoints that give the gradients.
type WinoKind int

const (
	WinoInput       WinoKind = iota // 6×6 input tile d (gathered) ↦ Bᵀ d B (36 rows)
	WinoOutput                      // 36 rows M ↦ Aᵀ M A, a 4×4 output tile (scattered)
	WinoOutputGrad                  // 4×4 output gradient (gathered) ↦ A dY Aᵀ (36 rows)
	WinoInputGrad                   // 36 rows dV ↦ B dV Bᵀ, added to a 6×6 input tile (scattered)
	WinoWeights                     // 3×3 weights (gathered) ↦ G g Gᵀ (36 rows)
	WinoWeightsGrad                 // 36 rows dU ↦ Gᵀ dU G, a 3×3 weight gradient (scattered)
)

// WinoLanes is the number of tiles a WinoTransform call handles at once.
const WinoLanes = 16

// WinoValues returns how many values kind reads and writes per tile (36, 16 or 9).
func WinoValues(kind WinoKind) (in, out int) {
	k := &wino.Kernels[kind]
	return k.Inputs(), k.Outputs()
}

// WinoTransform runs transform kind on WinoLanes tiles and n items (channels, say). For item q
// and lane l, value v of the tile is read from src[q·srcStep + srcOff[v] + idx[l]] when kind
// gathers its input (WinoInput, WinoOutputGrad, WinoWeights: v with lane l off in mask[v] read
// as 0), or from src[q·srcStep + srcOff[v] + l] when it loads rows; output v is written to
// dst[q·dstStep + dstOff[v] + l] (rows), or to dst[q·dstStep + dstOff[v] + idx[l]] where lane l
// of mask[v] is on (WinoOutput, WinoWeightsGrad scatter; WinoInputGrad adds, output by output
// in order). Scattered lanes of one output must not share an element. The AVX-512 code and the
// portable loops run the same single-precision steps (internal/wino) and give the same bits.
func WinoTransform(kind WinoKind, dst, src []float32, idx *[WinoLanes]int32, mask []uint16, dstOff, srcOff []int, n, dstStep, srcStep int) {
	if kind < 0 || int(kind) >= len(wino.Kernels) {
		panic(fmt.Sprintf("tensor: WinoTransform: unknown kind %d", kind))
	}
	k := &wino.Kernels[kind]
	nin, nout := k.Inputs(), k.Outputs()
	if len(srcOff) < nin || len(dstOff) < nout {
		panic("tensor: WinoTransform: offset tables too short")
	}
	if n <= 0 {
		return
	}
	gather := k.Src == 'g'
	nmask := nout
	if gather {
		nmask = nin
	}
	if len(mask) < nmask {
		panic("tensor: WinoTransform: mask table too short")
	}
	winoCheck("src", src, srcOff[:nin], gather, idx, mask, n, srcStep)
	winoCheck("dst", dst, dstOff[:nout], !gather, idx, mask, n, dstStep)
	if winoAsm {
		winoRunAsm(kind, dst, src, idx, mask, dstOff[:nout], srcOff[:nin], n, dstStep, srcStep)
		return
	}
	winoGo(k, dst, src, idx, mask, dstOff, srcOff, n, dstStep, srcStep)
}

// winoCheck panics unless every element that n items read or write through offs lies in x.
func winoCheck(name string, x []float32, offs []int, indexed bool, idx *[WinoLanes]int32, mask []uint16, n, step int) {
	lo, hi := 0, -1
	first := true
	note := func(a, b int) {
		if first || a < lo {
			lo = a
		}
		if first || b > hi {
			hi = b
		}
		first = false
	}
	var ilo, ihi int32 // the lanes' index range, for values every lane uses
	if indexed {
		ilo, ihi = idx[0], idx[0]
		for _, v := range idx {
			ilo, ihi = min(ilo, v), max(ihi, v)
		}
	}
	for v, off := range offs {
		switch {
		case !indexed:
			note(off, off+WinoLanes-1)
		case mask[v] == 0xffff:
			note(off+int(ilo), off+int(ihi))
		default:
			for l := 0; l < WinoLanes; l++ {
				if mask[v]>>l&1 != 0 {
					note(off+int(idx[l]), off+int(idx[l]))
				}
			}
		}
	}
	if first {
		return
	}
	if step < 0 || lo < 0 || hi+(n-1)*step >= len(x) {
		panic(fmt.Sprintf("tensor: WinoTransform: %s elements [%d, %d] (step %d, %d items) outside length %d", name, lo, hi+(n-1)*step, step, n, len(x)))
	}
	if uint64(hi+(n-1)*step) >= 1<<31 {
		panic("tensor: WinoTransform: offsets exceed 2³¹ elements")
	}
}

// winoGo is the portable WinoTransform.
func winoGo(k *wino.Kernel, dst, src []float32, idx *[WinoLanes]int32, mask []uint16, dstOff, srcOff []int, n, dstStep, srcStep int) {
	I, J := len(k.Col.Out), len(k.Row.Out)
	vals := make([][16]float32, max(k.Col.Values(), k.Row.Values()))
	in := make([][16]float32, max(k.R, k.S))
	out := make([][16]float32, max(I, J))
	tmp := make([][16]float32, I*k.S)
	for q := 0; q < n; q++ {
		s0, d0 := q*srcStep, q*dstStep
		for s := 0; s < k.S; s++ {
			for r := 0; r < k.R; r++ {
				v := r*k.S + s
				for l := range in[r] {
					switch {
					case k.Src == 'l':
						in[r][l] = src[s0+srcOff[v]+l]
					case mask[v]>>l&1 != 0:
						in[r][l] = src[s0+srcOff[v]+int(idx[l])]
					default:
						in[r][l] = 0
					}
				}
			}
			k.Col.Eval(in, out, vals)
			for i := 0; i < I; i++ {
				tmp[i*k.S+s] = out[i]
			}
		}
		for i := 0; i < I; i++ {
			k.Row.Eval(tmp[i*k.S:(i+1)*k.S], out, vals)
			for j := 0; j < J; j++ {
				v := i*J + j
				for l, x := range out[j] {
					switch {
					case k.Dst == 's':
						dst[d0+dstOff[v]+l] = x
					case mask[v]>>l&1 == 0:
					case k.Dst == 'c':
						dst[d0+dstOff[v]+int(idx[l])] = x
					default:
						e := d0 + dstOff[v] + int(idx[l])
						dst[e] = dst[e] + x
					}
				}
			}
		}
	}
}
