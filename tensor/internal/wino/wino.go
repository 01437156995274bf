// Package wino holds the tile transforms of the Winograd convolution F(4×4, 3×3) (Lavin &
// Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016) as straight-line
// programs of single-precision additions, subtractions and multiplications by constants. The
// assembly generator (tensor/gen_wino.go) and the portable code in package tensor run the
// same programs in the same order, so the two give the same bits. There are no fused
// multiply-adds: each step is rounded as Go rounds it.
package wino

// Op is one step of a program: value A+B, A−B, or A·C (Kind '+', '-' or '*').
type Op struct {
	Kind byte
	A, B int
	C    float32
}

// T1 is a one-dimensional transform: values 0..In−1 are the inputs, value In+k is the result
// of Ops[k], and Out lists the values that are the outputs, in order.
type T1 struct {
	In  int
	Ops []Op
	Out []int
}

// Eval runs t on lanes: in[i][l] is input i of lane l; out[j] receives output j.
func (t *T1) Eval(in, out [][16]float32, v [][16]float32) {
	copy(v, in[:t.In])
	for k, op := range t.Ops {
		a, d := &v[op.A], &v[t.In+k]
		switch op.Kind {
		case '+':
			b := &v[op.B]
			for l := range d {
				d[l] = a[l] + b[l]
			}
		case '-':
			b := &v[op.B]
			for l := range d {
				d[l] = a[l] - b[l]
			}
		default:
			for l := range d {
				d[l] = float32(a[l] * op.C)
			}
		}
	}
	for j, o := range t.Out {
		out[j] = v[o]
	}
}

// Values is the number of values t computes (inputs included).
func (t *T1) Values() int { return t.In + len(t.Ops) }

type builder struct{ t T1 }

func (b *builder) op(kind byte, a, c int, k float32) int {
	b.t.Ops = append(b.t.Ops, Op{Kind: kind, A: a, B: c, C: k})
	return b.t.In + len(b.t.Ops) - 1
}
func (b *builder) add(a, c int) int         { return b.op('+', a, c, 0) }
func (b *builder) sub(a, c int) int         { return b.op('-', a, c, 0) }
func (b *builder) mul(a int, k float32) int { return b.op('*', a, 0, k) }

func build(in int, f func(b *builder) []int) T1 {
	b := &builder{t: T1{In: in}}
	b.t.Out = f(b)
	return b.t
}

// BT is Bᵀ (6×6): the input tile's transform, d ↦ Bᵀd.
var BT = build(6, func(b *builder) []int {
	r0 := b.add(b.sub(b.mul(0, 4), b.mul(2, 5)), 4)
	a, c := b.sub(4, b.mul(2, 4)), b.sub(3, b.mul(1, 4))
	r1, r2 := b.add(a, c), b.sub(a, c)
	e, f := b.sub(4, 2), b.mul(b.sub(3, 1), 2)
	r3, r4 := b.add(e, f), b.sub(e, f)
	r5 := b.add(b.sub(b.mul(1, 4), b.mul(3, 5)), 5)
	return []int{r0, r1, r2, r3, r4, r5}
})

// B is B (6×6), the adjoint of BT: the input gradient's transform.
var B = build(6, func(b *builder) []int {
	s12, s34 := b.add(1, 2), b.add(3, 4)
	d21, d43 := b.sub(2, 1), b.sub(4, 3)
	o0 := b.mul(0, 4)
	o1 := b.add(b.add(b.mul(d21, 4), b.mul(d43, 2)), b.mul(5, 4))
	o2 := b.sub(b.sub(b.mul(0, -5), b.mul(s12, 4)), s34)
	o3 := b.sub(b.sub(b.mul(d43, -2), d21), b.mul(5, 5))
	o4 := b.add(b.add(0, s12), s34)
	return []int{o0, o1, o2, o3, o4, 5}
})

// G is G (6×3): the weights' transform, g ↦ Gg.
var G = build(3, func(b *builder) []int {
	p := b.add(0, 2)
	u0 := b.mul(0, 1.0/4)
	u1 := b.mul(b.add(p, 1), -1.0/6)
	u2 := b.mul(b.sub(p, 1), -1.0/6)
	q, h := b.add(b.mul(0, 1.0/24), b.mul(2, 1.0/6)), b.mul(1, 1.0/12)
	return []int{u0, u1, u2, b.add(q, h), b.sub(q, h), 2}
})

// GT is Gᵀ (3×6), the adjoint of G: the weight gradient's transform.
var GT = build(6, func(b *builder) []int {
	s12, s34 := b.add(1, 2), b.add(3, 4)
	d21, d34 := b.sub(2, 1), b.sub(3, 4)
	o0 := b.add(b.add(b.mul(0, 1.0/4), b.mul(s12, -1.0/6)), b.mul(s34, 1.0/24))
	o1 := b.add(b.mul(d21, 1.0/6), b.mul(d34, 1.0/12))
	o2 := b.add(b.add(b.mul(s12, -1.0/6), b.mul(s34, 1.0/6)), 5)
	return []int{o0, o1, o2}
})

// AT is Aᵀ (4×6): the output tile's transform, m ↦ Aᵀm.
var AT = build(6, func(b *builder) []int {
	a, c := b.add(1, 2), b.add(3, 4)
	d, e := b.sub(1, 2), b.sub(3, 4)
	y0 := b.add(b.add(0, a), c)
	y1 := b.add(d, b.mul(e, 2))
	y2 := b.add(a, b.mul(c, 4))
	y3 := b.add(b.add(d, b.mul(e, 8)), 5)
	return []int{y0, y1, y2, y3}
})

// A is A (6×4), the adjoint of AT: the output gradient's transform.
var A = build(4, func(b *builder) []int {
	p, q := b.add(0, 2), b.add(1, 3)
	p4, q4 := b.add(0, b.mul(2, 4)), b.add(b.mul(1, 2), b.mul(3, 8))
	return []int{0, b.add(p, q), b.sub(p, q), b.add(p4, q4), b.sub(p4, q4), 3}
})

// Kernel is a two-dimensional tile transform X ↦ Col·X·Rowᵀ on R×S tiles, 16 tiles (lanes) at
// a time: Col runs down each of the S columns, then Row along each of the len(Col.Out) rows.
// Src is how the tile's values are read: 'g' gathered (each lane from its own index, masked
// entries read as 0) or 'l' loaded (value k of all lanes is one contiguous row); Dst is how
// the outputs are written: 's' stored as contiguous rows, 'c' scattered (masked), or 'a'
// added to where they scatter (masked).
type Kernel struct {
	Name     string
	R, S     int
	Col, Row *T1
	Src, Dst byte
}

// Outputs is the number of values the kernel writes per tile.
func (k *Kernel) Outputs() int { return len(k.Col.Out) * len(k.Row.Out) }

// Inputs is the number of values it reads per tile.
func (k *Kernel) Inputs() int { return k.R * k.S }

// The kernels of the convolution, in the order of package tensor's WinoKind.
var Kernels = []Kernel{
	{Name: "Input", R: 6, S: 6, Col: &BT, Row: &BT, Src: 'g', Dst: 's'},
	{Name: "Output", R: 6, S: 6, Col: &AT, Row: &AT, Src: 'l', Dst: 'c'},
	{Name: "OutputGrad", R: 4, S: 4, Col: &A, Row: &A, Src: 'g', Dst: 's'},
	{Name: "InputGrad", R: 6, S: 6, Col: &B, Row: &B, Src: 'l', Dst: 'a'},
	{Name: "Weights", R: 3, S: 3, Col: &G, Row: &G, Src: 'g', Dst: 's'},
	{Name: "WeightsGrad", R: 6, S: 6, Col: &GT, Row: &GT, Src: 'l', Dst: 'c'},
}
