package nn

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/tensor"
)

// F(4x4,3x3)
var bt6 = [6][6]float32{
	{4, 0, -5, 0, 1, 0},
	{0, -4, -4, 1, 1, 0},
	{0, 4, -4, -1, 1, 0},
	{0, -2, -1, 2, 1, 0},
	{0, 2, -1, -2, 1, 0},
	{0, 4, 0, -5, 0, 1},
}
var g6 = [6][3]float32{
	{1.0 / 4, 0, 0},
	{-1.0 / 6, -1.0 / 6, -1.0 / 6},
	{-1.0 / 6, 1.0 / 6, -1.0 / 6},
	{1.0 / 24, 1.0 / 12, 1.0 / 6},
	{1.0 / 24, -1.0 / 12, 1.0 / 6},
	{0, 0, 1},
}
var at6 = [4][6]float32{
	{1, 1, 1, 1, 1, 0},
	{0, 1, -1, 2, -2, 0},
	{0, 1, 1, 4, 4, 0},
	{0, 1, -1, 8, -8, 1},
}

func protoForward(x, w, y []float32, n, C, O, H, W int, tm *[3]time.Duration) {
	th, tw := H/4, W/4
	T := th * tw
	// U[xi][o][c]
	U := make([]float32, 36*O*C)
	for o := 0; o < O; o++ {
		for c := 0; c < C; c++ {
			g := w[(o*C+c)*9:]
			var tmp [6][3]float32
			for i := 0; i < 6; i++ {
				for j := 0; j < 3; j++ {
					tmp[i][j] = g6[i][0]*g[j] + g6[i][1]*g[3+j] + g6[i][2]*g[6+j]
				}
			}
			for i := 0; i < 6; i++ {
				for j := 0; j < 6; j++ {
					U[(i*6+j)*O*C+o*C+c] = tmp[i][0]*g6[j][0] + tmp[i][1]*g6[j][1] + tmp[i][2]*g6[j][2]
				}
			}
		}
	}
	pa := make([]tensor.PackedA, 36)
	for xi := range pa {
		pa[xi].Pack(false, O, C, U[xi*O*C:], C)
	}
	V := make([]float32, 36*C*T)
	M := make([]float32, 36*O*T)
	for e := 0; e < n; e++ {
		t0 := time.Now()
		xe := x[e*C*H*W:]
		for c := 0; c < C; c++ {
			img := xe[c*H*W:]
			for ti := 0; ti < th; ti++ {
				for tj := 0; tj < tw; tj++ {
					var d [6][6]float32
					for r := 0; r < 6; r++ {
						ii := 4*ti - 1 + r
						if ii < 0 || ii >= H {
							continue
						}
						for s := 0; s < 6; s++ {
							jj := 4*tj - 1 + s
							if jj >= 0 && jj < W {
								d[r][s] = img[ii*W+jj]
							}
						}
					}
					var tmp [6][6]float32
					for i := 0; i < 6; i++ {
						for s := 0; s < 6; s++ {
							var v float32
							for k := 0; k < 6; k++ {
								v += bt6[i][k] * d[k][s]
							}
							tmp[i][s] = v
						}
					}
					t := ti*tw + tj
					for i := 0; i < 6; i++ {
						for j := 0; j < 6; j++ {
							var v float32
							for k := 0; k < 6; k++ {
								v += tmp[i][k] * bt6[j][k]
							}
							V[(i*6+j)*C*T+c*T+t] = v
						}
					}
				}
			}
		}
		t1 := time.Now()
		for xi := 0; xi < 36; xi++ {
			tensor.GemmSerialPacked(&pa[xi], false, T, 1, V[xi*C*T:], T, 0, M[xi*O*T:], T)
		}
		t2 := time.Now()
		ye := y[e*O*H*W:]
		for o := 0; o < O; o++ {
			for ti := 0; ti < th; ti++ {
				for tj := 0; tj < tw; tj++ {
					t := ti*tw + tj
					var m [6][6]float32
					for i := 0; i < 36; i++ {
						m[i/6][i%6] = M[i*O*T+o*T+t]
					}
					var tmp [4][6]float32
					for i := 0; i < 4; i++ {
						for s := 0; s < 6; s++ {
							var v float32
							for k := 0; k < 6; k++ {
								v += at6[i][k] * m[k][s]
							}
							tmp[i][s] = v
						}
					}
					for i := 0; i < 4; i++ {
						for j := 0; j < 4; j++ {
							var v float32
							for k := 0; k < 6; k++ {
								v += tmp[i][k] * at6[j][k]
							}
							ye[o*H*W+(4*ti+i)*W+4*tj+j] = v
						}
					}
				}
			}
		}
		t3 := time.Now()
		tm[0] += t1.Sub(t0)
		tm[1] += t2.Sub(t1)
		tm[2] += t3.Sub(t2)
	}
}

func TestWinoProto(t *testing.T) {
	tensor.SetThreads(1)
	defer tensor.SetThreads(0)
	for _, sh := range [][4]int{{64, 32, 32, 32}, {128, 16, 16, 32}, {256, 8, 8, 32}} {
		C, H, n := sh[0], sh[1], sh[3]
		O, W := C, H
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float32, n*C*H*W)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		l := &Conv2D{Out: O, K: 3, Pad: 1, NoBias: true}
		var lay param.Layout
		if _, err := l.Build(&lay, "c", []int{C, H, W}); err != nil {
			t.Fatal(err)
		}
		w := make([]float32, lay.Size())
		l.Init(w, rng)
		t0 := time.Now()
		ref := append([]float32(nil), l.forward(w, x, n, false, nil)...)
		td := time.Since(t0)
		y := make([]float32, n*O*H*W)
		var tm [3]time.Duration
		t1 := time.Now()
		protoForward(x, l.W.Of(w), y, n, C, O, H, W, &tm)
		tw := time.Since(t1)
		var maxd, maxr float64
		for i := range y {
			maxd = math.Max(maxd, math.Abs(float64(y[i]-ref[i])))
			maxr = math.Max(maxr, math.Abs(float64(ref[i])))
		}
		t.Logf("C=%d H=%d: direct %v, winograd %v (in %v gemm %v out %v), maxdiff %.3g of %.3g", C, H, td, tw, tm[0], tm[1], tm[2], maxd, maxr)
	}
}
