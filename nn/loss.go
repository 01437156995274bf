package nn

import (
	"fmt"
	"math"
)

// Target holds what the outputs of n examples are compared with: class labels or real targets.
type Target struct {
	Labels []int32   // classification: one label per example
	Y      []float32 // regression / binary targets: n × dim
	// Traj, when set, adds SAF's trajectory term to the loss of Model.Grad (not to Loss.Eval).
	Traj *Trajectory
}

// Loss scores n output rows of width dim. Eval returns the mean loss over the examples and, when
// dout is non-nil, overwrites dout with the gradient of that mean with respect to out.
type Loss interface {
	Eval(out []float32, n, dim int, t Target, dout []float32) float64
}

// SoftmaxCrossEntropy is the fused, numerically stable mean of −log softmax(z)_y over examples,
// with optional label smoothing s (targets (1−s)·onehot + s/K, as PyTorch).
type SoftmaxCrossEntropy struct{ Smoothing float64 }

// Eval implements Loss.
func (l SoftmaxCrossEntropy) Eval(out []float32, n, dim int, t Target, dout []float32) float64 {
	s := l.Smoothing
	var total float64
	inv := 1 / float64(n)
	for r := 0; r < n; r++ {
		z := out[r*dim : (r+1)*dim]
		y := int(t.Labels[r])
		m := z[0]
		for _, v := range z[1:] {
			m = max(m, v)
		}
		var se, sz float64
		for _, v := range z {
			se += math.Exp(float64(v - m))
			sz += float64(v)
		}
		lse := float64(m) + math.Log(se)
		total += lse - (1-s)*float64(z[y]) - s/float64(dim)*sz
		if dout != nil {
			d := dout[r*dim : (r+1)*dim]
			for k, v := range z {
				p := math.Exp(float64(v)-lse) - s/float64(dim)
				if k == y {
					p -= 1 - s
				}
				d[k] = float32(p * inv)
			}
		}
	}
	return total * inv
}

// MSE is the mean over examples and outputs of (ŷ − y)², PyTorch's MSELoss.
type MSE struct{}

// Eval implements Loss.
func (MSE) Eval(out []float32, n, dim int, t Target, dout []float32) float64 {
	var total float64
	f := 2 / float64(n*dim)
	for i, v := range out[:n*dim] {
		d := float64(v) - float64(t.Y[i])
		total += d * d
		if dout != nil {
			dout[i] = float32(f * d)
		}
	}
	return total / float64(n*dim)
}

// BCEWithLogits is binary cross-entropy on logits, mean over examples and outputs, computed
// stably as max(z,0) − z·y + log(1+e^(−|z|)). Targets come from Y, or from Labels (0/1) when dim is 1.
type BCEWithLogits struct{}

// Eval implements Loss.
func (BCEWithLogits) Eval(out []float32, n, dim int, t Target, dout []float32) float64 {
	var total float64
	inv := 1 / float64(n*dim)
	for i, v := range out[:n*dim] {
		var y float64
		if t.Y != nil {
			y = float64(t.Y[i])
		} else {
			y = float64(t.Labels[i])
		}
		z := float64(v)
		total += math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
		if dout != nil {
			dout[i] = float32((float64(sigmoid(v)) - y) * inv)
		}
	}
	return total * inv
}

// NewLoss returns the loss called name: "ce" (softmax cross-entropy), "mse" or "bce".
func NewLoss(name string, smoothing float64) (Loss, error) {
	if !(smoothing >= 0 && smoothing < 1) {
		return nil, fmt.Errorf("--label-smoothing: must be in [0,1), got %g", smoothing)
	}
	switch name {
	case "ce":
		return SoftmaxCrossEntropy{Smoothing: smoothing}, nil
	case "mse":
		if smoothing != 0 {
			return nil, fmt.Errorf("--label-smoothing: only applies to cross-entropy")
		}
		return MSE{}, nil
	case "bce":
		if smoothing != 0 {
			return nil, fmt.Errorf("--label-smoothing: only applies to cross-entropy")
		}
		return BCEWithLogits{}, nil
	}
	return nil, fmt.Errorf("--loss: unknown loss %q (want ce, mse or bce)", name)
}

// Correct counts the rows whose prediction matches the label: the arg-max for several outputs,
// z > 0 for a single logit.
func Correct(out []float32, n, dim int, labels []int32) int {
	c := 0
	for r := 0; r < n; r++ {
		z := out[r*dim : (r+1)*dim]
		pred := 0
		if dim == 1 {
			if z[0] > 0 {
				pred = 1
			}
		} else {
			for k, v := range z {
				if v > z[pred] {
					pred = k
				}
			}
		}
		if int32(pred) == labels[r] {
			c++
		}
	}
	return c
}
