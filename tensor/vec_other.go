//go:build !amd64 || purego

package tensor

// vecAsm is false: no assembly loops for this architecture or with the purego tag.
const vecAsm = false

func axpyAsm(alpha float32, x, y []float32)                     { panic("unreachable") }
func addScaledAsm(dst, y []float32, alpha float32, x []float32) { panic("unreachable") }
func dot64Asm(x, y []float32) float64                           { panic("unreachable") }
func sumSq64Asm(x []float32) float64                            { panic("unreachable") }
func finiteAsm(x []float32) bool                                { panic("unreachable") }

func adamAsm(w, g, m, v []float32, c *AdamCoeffs) { panic("unreachable") }

func addScaledMulAsm(dst, y []float32, alpha float32, x, mask []float32) { panic("unreachable") }
func bernoulliAsm(dst []float32, state *[8]uint64, tm1 uint16, scale float32) {
	panic("unreachable")
}

func maxPool2Asm(y []float32, arg []int32, row0, row1 []float32, i0, i1 int32) {
	panic("unreachable")
}

func packBT8Asm(dst, src []float32, ldb, kb8, nr int) bool { return false }

func biasReLUAsm(x []float32, bias float32, relu bool) { panic("unreachable") }
func reluAsm(y, x []float32)                           { panic("unreachable") }
func addReLUAsm(y, a, b []float32)                     { panic("unreachable") }
func reluMaskAsm(dx, dy, y []float32)                  { panic("unreachable") }

func sumDot64Asm(x, y []float32) (float64, float64)          { panic("unreachable") }
func bnApplyAsm(y, xh, x []float32, c *[4]float32, mode int) { panic("unreachable") }
func bnGradAsm(dx, dy, xh []float32, c *[4]float32)          { panic("unreachable") }

func gsamCombineAsm(gp, g []float32, a, k float32)         { panic("unreachable") }
func asamStepAsm(ds, bs, ws, gs []float32, c, eta float32) { panic("unreachable") }
func sumSqScaled64Asm(w, g []float32, eta float32) float64 { panic("unreachable") }
