//go:build amd64 && !purego

package tensor

import (
	"os"
	"unsafe"
)

// winoISA is the instruction set of the tile transforms of wino_amd64.s: "avx512" (16 lanes a
// vector), "avx2" (two vectors of 8) or "" (the portable loops). SAM_NOASM=1 keeps the portable
// ones and SAM_WINO_ISA=avx2 picks AVX2 on an AVX-512 CPU (for tests and benchmarks); the
// results are the same.
var winoISA = func() string {
	switch {
	case os.Getenv("SAM_NOASM") != "":
		return ""
	case hasAVX512 && os.Getenv("SAM_WINO_ISA") != "avx2":
		return "avx512"
	case hasAVX2FMA:
		return "avx2"
	}
	return ""
}()

var winoAsm = winoISA != ""

//go:noescape
func winoInput(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoOutput(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoOutputGrad(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoInputGrad(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoWeights(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoWeightsGrad(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoInputAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoOutputAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoOutputGradAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoInputGradAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoWeightsAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

//go:noescape
func winoWeightsGradAVX2(dst, src *float32, idx *int32, mask *uint16, dstOff, srcOff *int, n, dstStep, srcStep int)

// winoRunAsm runs the assembly transform with the offsets and steps in bytes (the caller has
// checked every access). The calls are direct, not through a table of functions, so that the
// offset tables stay on the stack (go:noescape).
func winoRunAsm(kind WinoKind, dst, src []float32, idx *[WinoLanes]int32, mask []uint16, dstOff, srcOff []int, n, dstStep, srcStep int) {
	var db, sb [36]int
	for i, o := range dstOff {
		db[i] = 4 * o
	}
	for i, o := range srcOff {
		sb[i] = 4 * o
	}
	d, s, ix, m := unsafe.SliceData(dst), unsafe.SliceData(src), &idx[0], unsafe.SliceData(mask)
	ds, ss := 4*dstStep, 4*srcStep
	if winoISA == "avx2" {
		switch kind {
		case WinoInput:
			winoInputAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		case WinoOutput:
			winoOutputAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		case WinoOutputGrad:
			winoOutputGradAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		case WinoInputGrad:
			winoInputGradAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		case WinoWeights:
			winoWeightsAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		case WinoWeightsGrad:
			winoWeightsGradAVX2(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
		}
		return
	}
	switch kind {
	case WinoInput:
		winoInput(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	case WinoOutput:
		winoOutput(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	case WinoOutputGrad:
		winoOutputGrad(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	case WinoInputGrad:
		winoInputGrad(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	case WinoWeights:
		winoWeights(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	case WinoWeightsGrad:
		winoWeightsGrad(d, s, ix, m, &db[0], &sb[0], n, ds, ss)
	}
}
