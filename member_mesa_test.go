package sam_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

func newMESA(t *testing.T, r *safRun, params map[string]float64) *sam.Optimizer {
	t.Helper()
	o, err := sam.New(&optim.SGD{}, &r.m.Layout, sam.Config{Variant: "mesa", Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestMESAStep: six SGD steps of MESA (β = 0.7, start 0) on SAF's softmax regression against a
// float64 reference written here: w̄ follows the weights at the start of each step, the soft
// targets are softmax(z(w̄)/τ) for examples seen before, the gradient is by central differences.
func TestMESAStep(t *testing.T) {
	const lambda, tau, beta, lr = 0.6, 2.0, 0.7, 0.3
	r, w := newSAFRun(t)
	o := newMESA(t, r, map[string]float64{"mesa-lambda": lambda, "mesa-tau": tau, "mesa-decay": beta, "mesa-start": 0})
	ref := make([]float64, len(w))
	for i, v := range w {
		ref[i] = float64(v)
	}
	W, B := r.m.Layout.Spans[0], r.m.Layout.Spans[1]
	logits := func(w []float64, i int) []float64 {
		z := make([]float64, 3)
		for c := range 3 {
			z[c] = w[B.Off+c]
			for d := range 2 {
				z[c] += w[W.Off+c*2+d] * float64(safX[2*i+d])
			}
		}
		return z
	}
	softmax := func(z []float64, tau float64) []float64 {
		p, s := make([]float64, len(z)), 0.0
		for c, v := range z {
			p[c] = math.Exp(v / tau)
			s += p[c]
		}
		for c := range p {
			p[c] /= s
		}
		return p
	}
	var ema []float64
	seen := map[int]int{}
	for _, batch := range safBatches {
		if ema == nil {
			ema = append([]float64(nil), ref...)
		} else {
			for j := range ema {
				ema[j] = beta*ema[j] + (1-beta)*ref[j]
			}
		}
		q := map[int][]float64{}
		for _, i := range batch {
			if seen[i] > 0 {
				q[i] = softmax(logits(ema, i), tau)
			}
		}
		f := func(w []float64) float64 {
			var l float64
			for _, i := range batch {
				z := logits(w, i)
				l -= math.Log(softmax(z, 1)[safLab[i]])
				if qi, ok := q[i]; ok {
					p := softmax(z, tau)
					for c := range 3 {
						l += lambda * tau * tau * qi[c] * math.Log(qi[c]/p[c])
					}
				}
			}
			return l / float64(len(batch))
		}
		g := make([]float64, len(ref))
		for j := range ref {
			const h = 1e-6
			a, b := append([]float64(nil), ref...), append([]float64(nil), ref...)
			a[j] += h
			b[j] -= h
			g[j] = (f(a) - f(b)) / (2 * h)
		}
		for j := range ref {
			ref[j] -= lr * g[j]
		}
		for _, i := range batch {
			seen[i]++
		}
		r.step(t, o, w, batch, lr)
	}
	near(t, "w", w, ref, 1e-5)
}

// TestMESALimitAndResume: λ = 0 is the base optimizer bit for bit; a resumed run (w̄ and the
// visit counts restored) continues bit for bit.
func TestMESALimitAndResume(t *testing.T) {
	run := func(cfg sam.Config) []float32 {
		r, w := newSAFRun(t)
		o, err := sam.New(&optim.SGD{Momentum: 0.9}, &r.m.Layout, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range safBatches {
			r.step(t, o, w, b, 0.1)
		}
		return w
	}
	base := run(sam.Config{})
	if got := run(sam.Config{Variant: "mesa", Params: map[string]float64{"mesa-lambda": 0}}); !reflect.DeepEqual(got, base) {
		t.Fatalf("λ = 0: %v, base %v", got, base)
	}
	params := map[string]float64{"mesa-decay": 0.7, "mesa-start": 0}
	r, ref := newSAFRun(t)
	o := newMESA(t, r, params)
	for _, b := range safBatches {
		r.step(t, o, ref, b, 0.2)
	}
	r, w := newSAFRun(t)
	o = newMESA(t, r, params)
	for _, b := range safBatches[:3] {
		r.step(t, o, w, b, 0.2)
	}
	var st optim.State
	o.SaveState(&st, "opt.")
	r, _ = newSAFRun(t)
	o2 := newMESA(t, r, params)
	if err := o2.LoadState(&st, "opt."); err != nil {
		t.Fatal(err)
	}
	for _, b := range safBatches[3:] {
		r.step(t, o2, w, b, 0.2)
	}
	if !reflect.DeepEqual(w, ref) {
		t.Fatalf("resumed %v, uninterrupted %v", w, ref)
	}
	st.Vectors["opt.rule.seen"][1] = -1
	if err := newMESA(t, r, params).LoadState(&st, "opt."); err == nil {
		t.Fatal("negative visit count accepted")
	}
}
