//go:build amd64 && !purego

package tensor

import (
	"os"
	"unsafe"
)

// winoAsm selects the AVX-512 tile transforms of wino_amd64.s (SAM_NOASM=1 keeps the portable
// ones; the results are the same).
var winoAsm = hasAVX512 && os.Getenv("SAM_NOASM") == ""

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
