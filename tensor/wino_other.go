//go:build !amd64 || purego

package tensor

const winoAsm = false

func winoRunAsm(WinoKind, []float32, []float32, *[WinoLanes]int32, []uint16, []int, []int, int, int, int) {
	panic("unreachable")
}
