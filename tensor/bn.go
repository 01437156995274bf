package tensor

// The loops of batch normalisation: one pass for a channel's statistics, one to normalise it,
// and the same two for its gradient. Sums are float64 in sixteen lanes reduced as combine16
// does, the tail added in order (as Dot64); the elementwise loops round every operation (no
// fused multiply-add), so the vector kernels and the Go loops give the same bits.

// Moments64 returns Σ x[i] and Σ x[i]², accumulated in float64: SumDot64(x, x).
func Moments64(x []float32) (sum, sumSq float64) { return SumDot64(x, x) }

// SumDot64 returns Σ x[i] and Σ x[i]·y[i], accumulated in float64.
func SumDot64(x, y []float32) (sum, dot float64) {
	y = y[:len(x)]
	m := len(x) &^ 15
	if vecAsm && m > 0 {
		sum, dot = sumDot64Asm(x[:m], y[:m])
	} else if m > 0 {
		var p, q [16]float64
		for i := 0; i < m; i += 16 {
			xs, ys := x[i:i+16:i+16], y[i:i+16:i+16]
			for l := range p {
				v := float64(xs[l])
				p[l] += v
				q[l] += v * float64(ys[l])
			}
		}
		sum, dot = combine16(&p), combine16(&q)
	}
	for i := m; i < len(x); i++ {
		v := float64(x[i])
		sum += v
		dot += v * float64(y[i])
	}
	return sum, dot
}

// BatchNormApply writes xh[i] = (x[i] − mean)·invstd and y[i] = gamma·xh[i] + beta, then
// max(y[i], 0) (Go's max) when relu is set; xh or y may be nil (not written).
func BatchNormApply(y, xh, x []float32, mean, invstd, gamma, beta float32, relu bool) {
	mode := 0
	if xh != nil {
		xh = xh[:len(x)]
		mode |= 1
	}
	if y != nil {
		y = y[:len(x)]
		mode |= 2
		if relu {
			mode |= 4
		}
	}
	m := len(x) &^ 15
	if vecAsm && m > 0 && mode != 0 {
		c := [4]float32{mean, invstd, gamma, beta}
		bnApplyAsm(y, xh, x[:m], &c, mode)
	} else {
		m = 0
	}
	for i := m; i < len(x); i++ {
		h := float32(x[i]-mean) * invstd
		if xh != nil {
			xh[i] = h
		}
		if y != nil {
			v := float32(gamma*h) + beta
			if relu {
				v = max(v, 0)
			}
			y[i] = v
		}
	}
}

// BatchNormGrad writes dx[i] = k·((dy[i] − mdy) − xh[i]·mdyx).
func BatchNormGrad(dx, dy, xh []float32, k, mdy, mdyx float32) {
	xh, dx = xh[:len(dy)], dx[:len(dy)]
	m := len(dy) &^ 15
	if vecAsm && m > 0 {
		c := [4]float32{k, mdy, mdyx, 0}
		bnGradAsm(dx[:m], dy[:m], xh[:m], &c)
	} else {
		m = 0
	}
	for i := m; i < len(dy); i++ {
		dx[i] = k * (float32(dy[i]-mdy) - float32(xh[i]*mdyx))
	}
}
