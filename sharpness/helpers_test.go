package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/nn"
	"gonum.org/v1/gonum/mat"
)

// regression returns a linear-regression objective (MSE) on n examples of d correlated features
// with distinct scales, its weights at the float64 least-squares solution, and the design
// matrix [X 1] in float64.
func regression(t testing.TB, n, d int, batch int) (*Objective, []float32, *mat.Dense) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	s := &data.Set{Shape: []int{d}, Outputs: 1, X: make([]float32, n*d), Y: make([]float32, n)}
	a := mat.NewDense(n, d+1, nil)
	for i := range n {
		common := rng.NormFloat64()
		for j := range d {
			v := float32((rng.NormFloat64() + 0.5*common) * float64(j+1) / 2)
			s.X[i*d+j] = v
			a.Set(i, j, float64(v))
		}
		a.Set(i, d, 1)
		s.Y[i] = float32(rng.NormFloat64() + 0.3*float64(s.X[i*d]))
	}
	m, err := nn.Build(nn.Spec{Model: "linear", Input: []int{d}, Outputs: 1, Loss: "mse"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewObjective(m, s, batch)
	if err != nil {
		t.Fatal(err)
	}
	// Least squares in float64.
	y := mat.NewVecDense(n, nil)
	for i := range n {
		y.SetVec(i, float64(s.Y[i]))
	}
	var sol mat.VecDense
	if err := sol.SolveVec(a, y); err != nil {
		t.Fatal(err)
	}
	w := make([]float32, d+1)
	for j := range d + 1 {
		w[j] = float32(sol.AtVec(j))
	}
	return o, w, a
}

// exactRegressionHessian is (2/n)[X 1]ᵀ[X 1].
func exactRegressionHessian(a *mat.Dense) *mat.SymDense {
	n, p := a.Dims()
	var h mat.SymDense
	h.SymOuterK(2/float64(n), a.T())
	_ = p
	return &h
}

// denseOf builds the dense matrix of an operator column by column.
func denseOf(op Operator) *mat.Dense {
	n := op.Dim()
	h := mat.NewDense(n, n, nil)
	e := make([]float64, n)
	col := make([]float64, n)
	for j := range n {
		clear(e)
		e[j] = 1
		op.Mul(col, e)
		for i := range n {
			h.Set(i, j, col[i])
		}
	}
	return h
}

// maxRelErr is max|a−b| / max|b|.
func maxRelErr(a, b mat.Matrix) float64 {
	r, c := b.Dims()
	var d, s float64
	for i := range r {
		for j := range c {
			d = math.Max(d, math.Abs(a.At(i, j)-b.At(i, j)))
			s = math.Max(s, math.Abs(b.At(i, j)))
		}
	}
	return d / s
}

// symEigen returns the eigenvalues of a symmetric matrix in decreasing order.
func symEigen(t testing.TB, h mat.Symmetric) []float64 {
	var es mat.EigenSym
	if !es.Factorize(h, false) {
		t.Fatal("eigendecomposition failed")
	}
	v := es.Values(nil)
	for i, j := 0, len(v)-1; i < j; i, j = i+1, j-1 {
		v[i], v[j] = v[j], v[i]
	}
	return v
}

// denseOp is a dense symmetric matrix as an Operator.
type denseOp struct{ m *mat.SymDense }

func (d denseOp) Dim() int { n, _ := d.m.Dims(); return n }
func (d denseOp) Mul(dst, v []float64) {
	out := mat.NewVecDense(len(dst), dst)
	out.MulVec(d.m, mat.NewVecDense(len(v), v))
}

// ---- An independent float64 MLP: loss and gradient by hand, for the Hessian reference. ----

type refMLP struct {
	sizes  []int // input, hidden..., output
	act    string
	loss   string // ce, mse, bce
	smooth float64
}

func refAct(f string, z float64) (y, dy float64) {
	switch f {
	case "relu":
		if z > 0 {
			return z, 1
		}
		return 0, 0
	case "tanh":
		y = math.Tanh(z)
		return y, 1 - y*y
	}
	y = 1 / (1 + math.Exp(-z))
	return y, y * (1 - y)
}

// lossGrad returns the mean loss over the n rows of x and its gradient, with the parameters in
// the layout of package nn: for each layer, weight [out, in] row-major, then bias [out].
func (r refMLP) lossGrad(w []float64, x []float64, labels []int, y []float64, n int) (float64, []float64) {
	g := make([]float64, len(w))
	var total float64
	L := len(r.sizes) - 1
	for row := range n {
		acts := [][]float64{x[row*r.sizes[0] : (row+1)*r.sizes[0]]}
		ders := [][]float64{}
		off := 0
		offs := []int{}
		for l := range L {
			in, out := r.sizes[l], r.sizes[l+1]
			offs = append(offs, off)
			z := make([]float64, out)
			for o := range out {
				s := w[off+in*out+o]
				for i := range in {
					s += w[off+o*in+i] * acts[l][i]
				}
				z[o] = s
			}
			off += in*out + out
			if l < L-1 {
				a, da := make([]float64, out), make([]float64, out)
				for o := range z {
					a[o], da[o] = refAct(r.act, z[o])
				}
				acts = append(acts, a)
				ders = append(ders, da)
			} else {
				acts = append(acts, z)
			}
		}
		z := acts[L]
		k := len(z)
		dz := make([]float64, k)
		switch r.loss {
		case "ce":
			m := z[0]
			for _, v := range z {
				m = math.Max(m, v)
			}
			var se float64
			for _, v := range z {
				se += math.Exp(v - m)
			}
			lse := m + math.Log(se)
			for j, v := range z {
				tj := r.smooth / float64(k)
				if j == labels[row] {
					tj += 1 - r.smooth
				}
				total += -tj * (v - lse)
				dz[j] = (math.Exp(v-lse) - tj) / float64(n)
			}
		case "mse":
			for j, v := range z {
				d := v - y[row*k+j]
				total += d * d / float64(k)
				dz[j] = 2 * d / float64(n*k)
			}
		case "bce":
			t := float64(labels[row])
			v := z[0]
			total += math.Max(v, 0) - v*t + math.Log1p(math.Exp(-math.Abs(v)))
			dz[0] = (1/(1+math.Exp(-v)) - t) / float64(n)
		}
		d := dz
		for l := L - 1; l >= 0; l-- {
			in, out := r.sizes[l], r.sizes[l+1]
			off := offs[l]
			din := make([]float64, in)
			for o := range out {
				g[off+in*out+o] += d[o]
				for i := range in {
					g[off+o*in+i] += d[o] * acts[l][i]
					din[i] += d[o] * w[off+o*in+i]
				}
			}
			if l > 0 {
				for i := range din {
					din[i] *= ders[l-1][i]
				}
			}
			d = din
		}
	}
	return total / float64(n), g
}

// fdHessian is the central finite difference of the float64 gradient, symmetrised.
func (r refMLP) fdHessian(w, x []float64, labels []int, y []float64, n int) *mat.Dense {
	p := len(w)
	h := mat.NewDense(p, p, nil)
	const step = 1e-5
	wp := append([]float64(nil), w...)
	for j := range p {
		wp[j] = w[j] + step
		_, gp := r.lossGrad(wp, x, labels, y, n)
		wp[j] = w[j] - step
		_, gm := r.lossGrad(wp, x, labels, y, n)
		wp[j] = w[j]
		for i := range p {
			h.Set(i, j, (gp[i]-gm[i])/(2*step))
		}
	}
	var s mat.Dense
	s.Add(h, h.T())
	s.Scale(0.5, &s)
	return &s
}
