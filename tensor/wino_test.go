package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The F(4×4, 3×3) matrices (Lavin & Gray 2016), for checking the programs in internal/wino.
var (
	winoBT = [][]float64{
		{4, 0, -5, 0, 1, 0},
		{0, -4, -4, 1, 1, 0},
		{0, 4, -4, -1, 1, 0},
		{0, -2, -1, 2, 1, 0},
		{0, 2, -1, -2, 1, 0},
		{0, 4, 0, -5, 0, 1},
	}
	winoG = [][]float64{
		{1.0 / 4, 0, 0},
		{-1.0 / 6, -1.0 / 6, -1.0 / 6},
		{-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6},
		{1.0 / 24, -1.0 / 12, 1.0 / 6},
		{0, 0, 1},
	}
	winoAT = [][]float64{
		{1, 1, 1, 1, 1, 0},
		{0, 1, -1, 2, -2, 0},
		{0, 1, 1, 4, 4, 0},
		{0, 1, -1, 8, -8, 1},
	}
)

func transpose(a [][]float64) [][]float64 {
	t := make([][]float64, len(a[0]))
	for j := range t {
		t[j] = make([]float64, len(a))
		for i := range a {
			t[j][i] = a[i][j]
		}
	}
	return t
}

// sandwich returns L·X·Lᵀ.
func sandwich(l, x [][]float64) [][]float64 {
	mul := func(a, b [][]float64) [][]float64 {
		c := make([][]float64, len(a))
		for i := range c {
			c[i] = make([]float64, len(b[0]))
			for j := range c[i] {
				for k := range b {
					c[i][j] += a[i][k] * b[k][j]
				}
			}
		}
		return c
	}
	return mul(mul(l, x), transpose(l))
}

// winoCase sets up one random call of kind: lane indices spread out so that scattered lanes
// never share an element, random masks, and offsets that fit.
type winoCase struct {
	kind           WinoKind
	idx            [WinoLanes]int32
	mask           []uint16
	dstOff, srcOff []int
	n, dstStep     int
	srcStep        int
	dst, src       []float32
}

func newWinoCase(kind WinoKind, rng *rand.Rand, fullMask bool) *winoCase {
	nin, nout := WinoValues(kind)
	c := &winoCase{kind: kind, n: 3}
	gather := kind == WinoInput || kind == WinoOutputGrad || kind == WinoWeights
	const spread = 100 // lane l's indices start at l·spread; values use offsets below 64
	for l := range c.idx {
		c.idx[l] = int32(l*spread + rng.IntN(8))
	}
	nm := nout
	if gather {
		nm = nin
	}
	c.mask = make([]uint16, nm)
	for i := range c.mask {
		c.mask[i] = 0xffff
		if !fullMask {
			c.mask[i] = uint16(rng.Uint32())
		}
	}
	offs := func(nv int, indexed bool) []int {
		o := make([]int, nv)
		for v := range o {
			if indexed {
				o[v] = v // distinct within a lane's tile
			} else {
				o[v] = v * 20 // rows
			}
		}
		return o
	}
	c.srcOff, c.dstOff = offs(nin, gather), offs(nout, !gather)
	size := func(indexed bool, nv int) (step, n int) {
		if indexed {
			return 16 * spread, 16*spread + 64
		}
		return nv*20 + 16, nv*20 + 16
	}
	var sn, dn int
	c.srcStep, sn = size(gather, nin)
	c.dstStep, dn = size(!gather, nout)
	c.src = make([]float32, sn*c.n)
	c.dst = make([]float32, dn*c.n)
	for i := range c.src {
		c.src[i] = float32(rng.NormFloat64())
	}
	for i := range c.dst {
		c.dst[i] = float32(rng.NormFloat64())
	}
	return c
}

func (c *winoCase) run(dst []float32, asm bool) {
	save := winoAsm
	defer func() { winoAsm = save }()
	winoAsm = asm
	WinoTransform(c.kind, dst, c.src, &c.idx, c.mask, c.dstOff, c.srcOff, c.n, c.dstStep, c.srcStep)
}

// TestWinoMath checks each transform (the portable code) against its matrix product in float64.
func TestWinoMath(t *testing.T) {
	bt, g, at := winoBT, winoG, winoAT
	mats := map[WinoKind]struct {
		l    [][]float64
		r, s int
	}{
		WinoInput: {bt, 6, 6}, WinoOutput: {at, 6, 6}, WinoOutputGrad: {transpose(at), 4, 4},
		WinoInputGrad: {transpose(bt), 6, 6}, WinoWeights: {g, 3, 3}, WinoWeightsGrad: {transpose(g), 6, 6},
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for kind, m := range mats {
		c := newWinoCase(kind, rng, true)
		dst := append([]float32(nil), c.dst...)
		c.run(dst, false)
		gather := kind == WinoInput || kind == WinoOutputGrad || kind == WinoWeights
		for q := 0; q < c.n; q++ {
			for l := 0; l < WinoLanes; l++ {
				x := make([][]float64, m.r)
				for r := range x {
					x[r] = make([]float64, m.s)
					for s := range x[r] {
						v := r*m.s + s
						e := q*c.srcStep + c.srcOff[v] + l
						if gather {
							e = q*c.srcStep + c.srcOff[v] + int(c.idx[l])
						}
						x[r][s] = float64(c.src[e])
					}
				}
				want := sandwich(m.l, x)
				for i := range want {
					for j := range want[i] {
						v := i*len(want[i]) + j
						e := q*c.dstStep + c.dstOff[v] + int(c.idx[l])
						if gather {
							e = q*c.dstStep + c.dstOff[v] + l
						}
						w := want[i][j]
						if kind == WinoInputGrad {
							w += float64(c.dst[e])
						}
						if got := float64(dst[e]); math.Abs(got-w) > 1e-4*(1+math.Abs(w)) {
							t.Fatalf("kind %d item %d lane %d value (%d,%d): got %g, want %g", kind, q, l, i, j, got, w)
						}
					}
				}
			}
		}
	}
}

// TestWinoBounds checks that an access outside the slices panics instead of running.
func TestWinoBounds(t *testing.T) {
	c := newWinoCase(WinoInput, rand.New(rand.NewPCG(1, 1)), true)
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a source too short")
		}
	}()
	WinoTransform(c.kind, c.dst, c.src[:2*c.srcStep+int(c.idx[15])], &c.idx, c.mask, c.dstOff, c.srcOff, c.n, c.dstStep, c.srcStep)
}
