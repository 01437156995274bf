//go:build amd64 && !purego

package tensor

import (
	"os"
	"unsafe"
)

// vecAsm selects the AVX2/FMA loops of vec_amd64.s for the vector helpers
// (SAM_NOASM=1 keeps the portable ones; the results are the same).
var vecAsm = hasAVX2FMA && os.Getenv("SAM_NOASM") == ""

func axpyAsm(alpha float32, x, y []float32) {
	axpyAVX2(len(x), alpha, unsafe.SliceData(x), unsafe.SliceData(y[:len(x)]))
}

func addScaledAsm(dst, y []float32, alpha float32, x []float32) {
	addScaledAVX2(len(x), alpha, unsafe.SliceData(x), unsafe.SliceData(y[:len(x)]), unsafe.SliceData(dst[:len(x)]))
}

func dot64Asm(x, y []float32) float64 {
	return dot64AVX2(len(x), unsafe.SliceData(x), unsafe.SliceData(y[:len(x)]))
}

func sumSq64Asm(x []float32) float64 { return sumSq64AVX2(len(x), unsafe.SliceData(x)) }

func finiteAsm(x []float32) bool { return finiteAVX2(len(x), unsafe.SliceData(x)) }

//go:noescape
func axpyAVX2(n int, alpha float32, x, y *float32)

//go:noescape
func addScaledAVX2(n int, alpha float32, x, y, dst *float32)

//go:noescape
func dot64AVX2(n int, x, y *float32) float64

//go:noescape
func sumSq64AVX2(n int, x *float32) float64

//go:noescape
func finiteAVX2(n int, x *float32) bool

func adamAsm(w, g, m, v []float32, c *AdamCoeffs) {
	n := len(g)
	adamAVX2(n, unsafe.SliceData(w[:n]), unsafe.SliceData(g), unsafe.SliceData(m[:n]), unsafe.SliceData(v[:n]), c)
}

//go:noescape
func adamAVX2(n int, w, gr, m, v *float32, c *AdamCoeffs)

func addScaledMulAsm(dst, y []float32, alpha float32, x, mask []float32) {
	n := len(x)
	addScaledMulAVX2(n, alpha, unsafe.SliceData(x), unsafe.SliceData(y[:n]), unsafe.SliceData(mask[:n]), unsafe.SliceData(dst[:n]))
}

func bernoulliAsm(dst []float32, state *[8]uint64, tm1 uint16, scale float32) {
	bernoulliAVX2(len(dst), unsafe.SliceData(dst), state, tm1, scale)
}

//go:noescape
func addScaledMulAVX2(n int, alpha float32, x, y, mask, dst *float32)

//go:noescape
func bernoulliAVX2(n int, dst *float32, state *[8]uint64, tm1 uint16, scale float32)

func maxPool2Asm(y []float32, arg []int32, row0, row1 []float32, i0, i1 int32) {
	n := len(y)
	maxPool2AVX2(n, unsafe.SliceData(row0[:2*n]), unsafe.SliceData(row1[:2*n]), unsafe.SliceData(y), unsafe.SliceData(arg[:n]), i0, i1)
}

//go:noescape
func maxPool2AVX2(n int, row0, row1, y *float32, arg *int32, i0, i1 int32)

// packBT8Asm transposes the first kb8 (a multiple of 8) columns of 8 rows of src (stride ldb)
// into dst (row stride nr).
func packBT8Asm(dst, src []float32, ldb, kb8, nr int) bool {
	if !vecAsm || kb8 == 0 {
		return false
	}
	_ = src[7*ldb+kb8-1]
	_ = dst[(kb8-1)*nr+7]
	packBT8AVX2(kb8, unsafe.SliceData(src), ldb, unsafe.SliceData(dst), nr)
	return true
}

//go:noescape
func packBT8AVX2(kb int, src *float32, ldb int, dst *float32, nr int)

//go:noescape
func biasReLUAVX2(n int, bias float32, x *float32, relu bool)

//go:noescape
func reluAVX2(n int, x, y *float32)

//go:noescape
func reluMaskAVX2(n int, dx, dy, y *float32)

func biasReLUAsm(x []float32, bias float32, relu bool) {
	biasReLUAVX2(len(x), bias, unsafe.SliceData(x), relu)
}

func reluAsm(y, x []float32) { reluAVX2(len(x), unsafe.SliceData(x), unsafe.SliceData(y[:len(x)])) }

//go:noescape
func addReLUAVX2(n int, a, b, y *float32)

func addReLUAsm(y, a, b []float32) {
	n := len(a)
	addReLUAVX2(n, unsafe.SliceData(a), unsafe.SliceData(b[:n]), unsafe.SliceData(y[:n]))
}

func reluMaskAsm(dx, dy, y []float32) {
	n := len(dy)
	reluMaskAVX2(n, unsafe.SliceData(dx[:n]), unsafe.SliceData(dy), unsafe.SliceData(y[:n]))
}

//go:noescape
func sumDot64AVX2(n int, x, y *float32) (s, d float64)

//go:noescape
func bnApplyAVX2(n int, x, xh, y *float32, c *[4]float32, mode int)

//go:noescape
func bnGradAVX2(n int, dy, xh, dx *float32, c *[4]float32)

func sumDot64Asm(x, y []float32) (float64, float64) {
	return sumDot64AVX2(len(x), unsafe.SliceData(x), unsafe.SliceData(y[:len(x)]))
}

func bnApplyAsm(y, xh, x []float32, c *[4]float32, mode int) {
	n := len(x)
	var px, py *float32
	if mode&1 != 0 {
		px = unsafe.SliceData(xh[:n])
	}
	if mode&2 != 0 {
		py = unsafe.SliceData(y[:n])
	}
	bnApplyAVX2(n, unsafe.SliceData(x), px, py, c, mode)
}

func bnGradAsm(dx, dy, xh []float32, c *[4]float32) {
	n := len(dy)
	bnGradAVX2(n, unsafe.SliceData(dy), unsafe.SliceData(xh[:n]), unsafe.SliceData(dx[:n]), c)
}

//go:noescape
func gsamCombineAVX2(n int, gp, gr *float32, a, k float32)

//go:noescape
func asamStepAVX2(n int, ds, bs, ws, gs *float32, c, eta float32)

//go:noescape
func sumSqScaled64AVX2(n int, w, gr *float32, eta float32) float64

func gsamCombineAsm(gp, g []float32, a, k float32) {
	gsamCombineAVX2(len(gp), unsafe.SliceData(gp), unsafe.SliceData(g[:len(gp)]), a, k)
}

func asamStepAsm(ds, bs, ws, gs []float32, c, eta float32) {
	n := len(gs)
	asamStepAVX2(n, unsafe.SliceData(ds[:n]), unsafe.SliceData(bs[:n]), unsafe.SliceData(ws[:n]), unsafe.SliceData(gs), c, eta)
}

func sumSqScaled64Asm(w, g []float32, eta float32) float64 {
	return sumSqScaled64AVX2(len(g), unsafe.SliceData(w[:len(g)]), unsafe.SliceData(g), eta)
}
