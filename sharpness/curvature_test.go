package sharpness

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/samgo/sam/nn"
	"gonum.org/v1/gonum/mat"
)

// forward is the float64 reference network's output for one example (layout as in lossGrad).
func (r refMLP) forward(w, x []float64) []float64 {
	a := x
	off := 0
	L := len(r.sizes) - 1
	for l := range L {
		in, out := r.sizes[l], r.sizes[l+1]
		z := make([]float64, out)
		for o := range out {
			s := w[off+in*out+o]
			for i := range in {
				s += w[off+o*in+i] * a[i]
			}
			z[o] = s
		}
		off += in*out + out
		if l < L-1 {
			for o := range z {
				z[o], _ = refAct(r.act, z[o])
			}
		}
		a = z
	}
	return a
}

// jacobian is ∂z/∂w (k × p) of one example by central differences of the float64 forward.
func (r refMLP) jacobian(w, x []float64) *mat.Dense {
	const step = 1e-6
	k := r.sizes[len(r.sizes)-1]
	j := mat.NewDense(k, len(w), nil)
	wp := append([]float64(nil), w...)
	for c := range w {
		wp[c] = w[c] + step
		zp := r.forward(wp, x)
		wp[c] = w[c] - step
		zm := r.forward(wp, x)
		wp[c] = w[c]
		for o := range k {
			j.Set(o, c, (zp[o]-zm[o])/(2*step))
		}
	}
	return j
}

// refGGN is (1/N) Σᵢ Jᵢᵀ ∇²_z ℓᵢ Jᵢ, with ∇²_z ℓ written out per loss: diag(p) − ppᵀ for
// softmax cross-entropy (any label smoothing), (2/k)·I for MSE, σ(1−σ) for BCE.
func (r refMLP) refGGN(w, x []float64, n int) *mat.Dense {
	d := r.sizes[0]
	p := len(w)
	g := mat.NewDense(p, p, nil)
	for i := range n {
		xi := x[i*d : (i+1)*d]
		z := r.forward(w, xi)
		k := len(z)
		m := mat.NewDense(k, k, nil)
		switch r.loss {
		case "ce":
			mx := z[0]
			for _, v := range z {
				mx = math.Max(mx, v)
			}
			pr := make([]float64, k)
			var se float64
			for j, v := range z {
				pr[j] = math.Exp(v - mx)
				se += pr[j]
			}
			for a := range k {
				for b := range k {
					v := -pr[a] / se * pr[b] / se
					if a == b {
						v += pr[a] / se
					}
					m.Set(a, b, v)
				}
			}
		case "mse":
			for a := range k {
				m.Set(a, a, 2/float64(k))
			}
		case "bce":
			s := 1 / (1 + math.Exp(-z[0]))
			m.Set(0, 0, s*(1-s))
		}
		j := r.jacobian(w, xi)
		var mj, jmj mat.Dense
		mj.Mul(m, j)
		jmj.Mul(j.T(), &mj)
		g.Add(g, &jmj)
	}
	g.Scale(1/float64(n), g)
	return g
}

// refFisher is (1/N) Σᵢ gᵢgᵢᵀ with gᵢ the float64 gradient of example i's loss alone.
func (r refMLP) refFisher(w, x []float64, labels []int, y []float64, n int) *mat.Dense {
	d, k := r.sizes[0], r.sizes[len(r.sizes)-1]
	p := len(w)
	f := mat.NewDense(p, p, nil)
	for i := range n {
		var lab []int
		if labels != nil {
			lab = labels[i : i+1]
		}
		var yi []float64
		if y != nil {
			yi = y[i*k : (i+1)*k]
		}
		_, g := r.lossGrad(w, x[i*d:(i+1)*d], lab, yi, 1)
		gv := mat.NewVecDense(p, g)
		var o mat.Dense
		o.Outer(1/float64(n), gv, gv)
		f.Add(f, &o)
	}
	return f
}

// TestGGNAndFisherDense: on tiny MLPs (softmax cross-entropy with label smoothing, MSE, BCE;
// tanh and ReLU) the GGN and empirical Fisher products, through the dense and the generic
// R-operator, match dense float64 matrices built independently: the GGN from finite-difference
// Jacobians of a float64 network and the losses' output Hessians written out, the Fisher from
// per-example float64 gradients.
func TestGGNAndFisherDense(t *testing.T) {
	for _, tc := range []struct{ act, loss string }{
		{"tanh", "ce"}, {"relu", "ce"}, {"tanh", "mse"}, {"relu", "mse"}, {"sigmoid", "bce"},
	} {
		t.Run(tc.act+"/"+tc.loss, func(t *testing.T) {
			o, w, ref, x, lab, y := tinyMLP(t, tc.act, tc.loss, []int{5})
			w64 := make([]float64, len(w))
			for i, v := range w {
				w64[i] = float64(v)
			}
			if tc.loss == "mse" {
				lab = nil
			} else {
				y = nil
			}
			wantG := ref.refGGN(w64, x, o.N())
			wantF := ref.refFisher(w64, x, lab, y, o.N())
			hess := denseOf(mustCurv(t, o, w, HessianCurvature, false))
			// The GGN is not the Hessian here (the check could not tell them apart otherwise).
			if e := maxRelErr(hess, wantG); e < 1e-2 {
				t.Fatalf("Hessian and GGN differ by only %.2g: a weak test case", e)
			}
			for _, generic := range []bool{false, true} {
				for _, c := range []struct {
					curv Curvature
					want *mat.Dense
				}{{GaussNewton, wantG}, {EmpiricalFisher, wantF}} {
					got := denseOf(mustCurv(t, o, w, c.curv, generic))
					if e := maxRelErr(got, c.want); e > 2e-5 {
						t.Errorf("%s (generic %v): relative error %.3g", c.curv, generic, e)
					} else {
						t.Logf("%s (generic %v): relative error %.2g", c.curv, generic, e)
					}
				}
			}
		})
	}
}

// mustCurv builds the curvature operator, through the generic R-operator when asked.
func mustCurv(t *testing.T, o *Objective, w []float32, c Curvature, generic bool) *Hessian {
	t.Helper()
	h, err := NewCurvature(o, w, Exact, c)
	if err != nil {
		t.Fatal(err)
	}
	if generic {
		seq, err := buildGeneric(o.Model)
		if err != nil {
			t.Fatal(err)
		}
		h.seq, h.gscratch = seq, make([]float32, o.Dim())
	}
	return h
}

// TestGGNLinearMSE: for MSE on a linear model the GGN is the Hessian, (2/n)[X 1]ᵀ[X 1].
func TestGGNLinearMSE(t *testing.T) {
	o, w, a := regression(t, 50, 4, 16)
	want := exactRegressionHessian(a)
	for _, generic := range []bool{false, true} {
		g := denseOf(mustCurv(t, o, w, GaussNewton, generic))
		if e := maxRelErr(g, want); e > 1e-5 {
			t.Errorf("generic %v: GGN differs from the exact Hessian by %.3g", generic, e)
		}
	}
}

// TestGGNFisherConv: on a CNN and a ResNet (generic R-operator) the GGN and the Fisher are
// symmetric and positive semi-definite, and their quadratic forms match those built from
// finite-difference Jacobian-vector products of the network's outputs (smooth activations):
// vᵀGv = (1/N) Σᵢ (Jᵢv)ᵀ(diag pᵢ − pᵢpᵢᵀ)(Jᵢv), vᵀFv = (1/N) Σᵢ ((pᵢ − tᵢ)·Jᵢv)².
func TestGGNFisherConv(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec nn.Spec
	}{
		{"cnn", nn.Spec{Model: "cnn", Input: []int{1, 8, 8}, Outputs: 3, Loss: "ce"}},
		{"resnet", nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			o, w := convObjective(t, spec, 12)
			smooth(o.Model.Layers)
			rng := rand.New(rand.NewPCG(9, 10))
			n := o.Dim()
			u, v := randUnit(rng, n), randUnit(rng, n)
			// Jv by central differences of the float32 outputs, in float64 (a step small enough
			// not to cross the kinks of the residual blocks' output ReLU).
			const step = 1e-3
			N, k := o.N(), spec.Outputs
			wp, wm := make([]float32, n), make([]float32, n)
			for i := range w {
				wp[i] = float32(float64(w[i]) + step*v[i])
				wm[i] = float32(float64(w[i]) - step*v[i])
			}
			zp := append([]float32(nil), o.Model.Forward(evalCtx, wp, o.Set.X, N)...)
			zm := append([]float32(nil), o.Model.Forward(evalCtx, wm, o.Set.X, N)...)
			z := o.Model.Forward(evalCtx, w, o.Set.X, N)
			var wantG, wantF float64
			for r := range N {
				p := make([]float64, k)
				var se float64
				for j := range k {
					p[j] = math.Exp(float64(z[r*k+j]))
					se += p[j]
				}
				jv := make([]float64, k)
				var pj, ujv float64
				for j := range k {
					p[j] /= se
					jv[j] = (float64(zp[r*k+j]) - float64(zm[r*k+j])) / (2 * step)
					pj += p[j] * jv[j]
				}
				for j := range k {
					wantG += p[j] * jv[j] * (jv[j] - pj)
					tj := 0.0
					if int(o.Set.Labels[r]) == j {
						tj = 1
					}
					ujv += (p[j] - tj) * jv[j]
				}
				wantF += ujv * ujv
			}
			wantG /= float64(N)
			wantF /= float64(N)
			for _, c := range []struct {
				curv Curvature
				want float64
			}{{GaussNewton, wantG}, {EmpiricalFisher, wantF}} {
				h := mustCurv(t, o, w, c.curv, false)
				if h.seq == nil {
					t.Fatal("the generic R-operator was not used")
				}
				hu, hv := make([]float64, n), make([]float64, n)
				h.Mul(hu, u)
				h.Mul(hv, v)
				a, b := dot(u, hv), dot(v, hu)
				if math.Abs(a-b) > 1e-4*(math.Abs(a)+math.Abs(b))+1e-8 {
					t.Errorf("%s not symmetric: u·Mv = %g, v·Mu = %g", c.curv, a, b)
				}
				q := dot(v, hv)
				if q < 0 || math.Abs(q-c.want) > 2e-3*c.want {
					t.Errorf("%s: vᵀMv = %.6g, from Jacobian-vector products %.6g", c.curv, q, c.want)
				} else {
					t.Logf("%s: vᵀMv = %.6g, reference %.6g", c.curv, q, c.want)
				}
			}
		})
	}
}
