package sharpness

import "fmt"

// Curvature selects the matrix whose products a Hessian value computes. The generalised
// Gauss-Newton matrix and the empirical Fisher replace the loss's second derivatives through
// the network by those of the loss in the network's outputs z alone:
//
//	Hessian   H = Jᵀ ∇²_z L J + Σ_k ∂L/∂z_k ∇²_w z_k
//	GGN       G = Jᵀ ∇²_z L J                      (positive semi-definite for convex losses)
//	Fisher    F = (1/N) Σᵢ ∇ℓᵢ ∇ℓᵢᵀ                 (the empirical Fisher: per-example gradients)
//
// with J the Jacobian of the outputs in the weights (per example) and ℓᵢ the loss of example i.
// Both are computed exactly, without second derivatives of the network: a forward-mode pass gives
// Jv, the output matrix multiplies it (∇²_z ℓᵢ for the GGN, ∇_z ℓᵢ ∇_z ℓᵢᵀ for the Fisher, per
// example), and a backward pass gives Jᵀ of the result; so Fv = (1/N) Σᵢ ∇ℓᵢ (∇ℓᵢ·v) without
// forming a per-example gradient. For MSE on a linear model the GGN is the Hessian.
type Curvature int

const (
	// HessianCurvature is the loss's Hessian.
	HessianCurvature Curvature = iota
	// GaussNewton is the generalised Gauss-Newton matrix Jᵀ ∇²_z L J.
	GaussNewton
	// EmpiricalFisher is the mean of the per-example gradients' outer products.
	EmpiricalFisher
)

func (c Curvature) String() string {
	switch c {
	case HessianCurvature:
		return "hessian"
	case GaussNewton:
		return "ggn"
	case EmpiricalFisher:
		return "fisher"
	}
	return fmt.Sprintf("Curvature(%d)", int(c))
}

// ParseCurvature reads hessian, ggn or fisher.
func ParseCurvature(s string) (Curvature, error) {
	for _, c := range []Curvature{HessianCurvature, GaussNewton, EmpiricalFisher} {
		if s == c.String() {
			return c, nil
		}
	}
	return 0, fmt.Errorf("--curvature: want hessian, ggn or fisher, got %q", s)
}

// NewCurvature returns the operator of curvature c of o's loss at w. The Hessian may use any
// method; the GGN and the Fisher are computed exactly (method Auto or Exact) and need a model
// the R-operator supports.
func NewCurvature(o *Objective, w []float32, method Method, c Curvature) (*Hessian, error) {
	switch c {
	case HessianCurvature:
		return NewHessian(o, w, method)
	case GaussNewton, EmpiricalFisher:
	default:
		return nil, fmt.Errorf("sharpness: unknown curvature %d", int(c))
	}
	if method == FiniteDiff {
		return nil, fmt.Errorf("sharpness: the %s is computed exactly; finite differences give only the Hessian", c)
	}
	h, err := NewHessian(o, w, Exact)
	if err != nil {
		return nil, err
	}
	h.curv = c
	return h, nil
}

// Curvature reports which matrix h multiplies by.
func (h *Hessian) Curvature() Curvature { return h.curv }

// outputCurv writes rd = M·rz for the n rows of k outputs z of a batch, with M the batch-mean
// loss's output matrix of h's curvature: ∇²_z (Hessian and GGN), or for the Fisher the rank-one
// per-example n·d_i d_iᵀ, where d = ∂L_batch/∂z = ∇_z ℓᵢ / n (the loss gradient of the batch).
func (h *Hessian) outputCurv(z, d, rz, rd []float32, n, k int) {
	if h.curv != EmpiricalFisher {
		lossHess(h.loss, z, rz, rd, n, k)
		return
	}
	for r := range n {
		dr, zr, out := d[r*k:(r+1)*k], rz[r*k:(r+1)*k], rd[r*k:(r+1)*k]
		var s float64
		for j, x := range dr {
			s += float64(x) * float64(zr[j])
		}
		s *= float64(n)
		for j, x := range dr {
			out[j] = float32(float64(x) * s)
		}
	}
}
