package tensor

import "math"

// AddBias adds b to every element of x and then, when relu is set, replaces each by
// max(x, 0) (Go's max: a NaN stays NaN, −0 becomes +0): a convolution's bias and ReLU on one
// output row in one pass.
func AddBias(x []float32, b float32, relu bool) {
	j := 0
	if vecAsm && len(x) >= 16 {
		j = len(x) &^ 15
		biasReLUAsm(x[:j], b, relu)
	}
	for i := j; i < len(x); i++ {
		v := x[i] + b
		if relu {
			v = max(v, 0)
		}
		x[i] = v
	}
}

// ReLU writes y[i] = max(x[i], 0) (Go's max), over the worker threads for long vectors.
func ReLU(y, x []float32) {
	y = y[:len(x)]
	if parallel(len(x)) {
		Parallel(len(x), splitMin, func(lo, hi int) { relu(y[lo:hi], x[lo:hi]) })
		return
	}
	relu(y, x)
}

func relu(y, x []float32) {
	j := 0
	if vecAsm && len(x) >= 16 {
		j = len(x) &^ 15
		reluAsm(y[:j], x[:j])
	}
	for i := j; i < len(x); i++ {
		y[i] = max(x[i], 0)
	}
}

// AddReLU writes y[i] = max(a[i]+b[i], 0) (Go's max): a residual block's sum and ReLU in one
// pass, over the worker threads for long vectors. y may alias a or b.
func AddReLU(y, a, b []float32) {
	y, b = y[:len(a)], b[:len(a)]
	if parallel(len(a)) {
		Parallel(len(a), splitMin, func(lo, hi int) { addReLU(y[lo:hi], a[lo:hi], b[lo:hi]) })
		return
	}
	addReLU(y, a, b)
}

func addReLU(y, a, b []float32) {
	j := 0
	if vecAsm && len(a) >= 16 {
		j = len(a) &^ 15
		addReLUAsm(y[:j], a[:j], b[:j])
	}
	for i := j; i < len(a); i++ {
		y[i] = max(a[i]+b[i], 0)
	}
}

// ReLUMask writes dx = dy where y > 0 and +0 where y = 0 (y is a ReLU output, never negative;
// a NaN with the sign bit clear counts as positive), over the worker threads for long vectors.
// No branches: ReLU's on/off pattern is unpredictable.
func ReLUMask(dx, dy, y []float32) {
	y, dx = y[:len(dy)], dx[:len(dy)]
	if parallel(len(dy)) {
		Parallel(len(dy), splitMin, func(lo, hi int) { reluMask(dx[lo:hi], dy[lo:hi], y[lo:hi]) })
		return
	}
	reluMask(dx, dy, y)
}

func reluMask(dx, dy, y []float32) {
	j := 0
	if vecAsm && len(dy) >= 16 {
		j = len(dy) &^ 15
		reluMaskAsm(dx[:j], dy[:j], y[:j])
	}
	for i := j; i < len(dy); i++ {
		m := math.Float32bits(y[i])       // 0 for +0, in (0, 2³¹) for y > 0
		mask := -((m + 0x7fffffff) >> 31) // 0 or all ones
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & mask)
	}
}
