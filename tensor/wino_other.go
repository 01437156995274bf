//go:build !amd64 || purego

package tensor

// winoAsm is false: this build has no assembly transforms (a variable, so that tests can set it).
var winoAsm = false

func winoRunAsm(WinoKind, []float32, []float32, *[WinoLanes]int32, []uint16, []int, []int, int, int, int) {
	panic("unreachable")
}
