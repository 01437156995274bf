package tensor

import (
	"fmt"
	"testing"
)

func BenchmarkWinoGemm(b *testing.B) {
	for _, sh := range [][3]int{{64, 64, 64}, {64, 64, 128}, {64, 64, 256}, {128, 128, 64}, {128, 128, 128}, {256, 256, 64}, {256, 256, 128}} {
		m, k, n := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprint(sh), func(b *testing.B) {
			a := make([]float32, m*k)
			bb := make([]float32, k*n)
			c := make([]float32, m*n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range bb {
				bb[i] = float32(i%5) * 0.1
			}
			var p PackedA
			p.Pack(false, m, k, a, k)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				GemmSerialPacked(&p, false, n, 1, bb, n, 0, c, n)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkWinoTransforms(b *testing.B) {
	const C, H, W = 64, 32, 32
	x := make([]float32, C*H*W)
	v := make([]float32, 36*C*64)
	var idx [16]int32
	var mask [36]uint16
	var offs, rows [36]int
	for l := range idx {
		ti, tj := l/8, l%8
		idx[l] = int32((4*ti+3)*W + 4*tj + 3) // interior tiles
	}
	for i := range mask {
		mask[i] = 0xffff
		offs[i] = (i/6)*W + i%6
		rows[i] = i * C * 64
	}
	for _, kind := range []WinoKind{WinoInput, WinoOutput, WinoOutputGrad, WinoInputGrad} {
		b.Run(fmt.Sprint(kind), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				switch kind {
				case WinoInput:
					WinoTransform(kind, v, x, &idx, mask[:], rows[:], offs[:], C, 64, H*W)
				case WinoOutput:
					WinoTransform(kind, x, v, &idx, mask[:16], offs[:16], rows[:], C, H*W, 64)
				case WinoOutputGrad:
					WinoTransform(kind, v, x, &idx, mask[:16], rows[:], offs[:16], C, 64, H*W)
				case WinoInputGrad:
					WinoTransform(kind, x, v, &idx, mask[:], offs[:], rows[:], C, H*W, 64)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(C*16), "ns/tile")
		})
	}
}

// BenchmarkWinoGemmGrad: the weight gradient's products Z_ξ·V_ξᵀ ([Out, tiles] by [tiles, C]).
func BenchmarkWinoGemmGrad(b *testing.B) {
	for _, sh := range [][3]int{{64, 64, 64}, {128, 128, 64}, {256, 256, 64}} {
		m, n, k := sh[0], sh[1], sh[2]
		b.Run(fmt.Sprint(sh), func(b *testing.B) {
			a := make([]float32, m*k)
			bb := make([]float32, n*k)
			c := make([]float32, m*n)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				GemmSerial(false, true, m, n, k, 1, a, k, bb, k, 1, c, n)
			}
			b.ReportMetric(float64(2*m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
