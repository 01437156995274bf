package nn

import (
	"fmt"
	"math"
)

// Trajectory is SAF's trajectory term on the rows of a mini-batch (Du et al., NeurIPS 2022):
//
//	λ·τ²·(1/n)·Σ_{i: Have[i]} KL(Q_i ‖ softmax(z_i/τ))
//
// with z_i the i-th output row (logits), Q_i a soft target (the model's own softmax(z/τ) of an
// earlier pass), n the rows evaluated. Its gradient with respect to z_i is λ·τ·(softmax(z_i/τ) −
// Q_i)/n. Model.Grad adds it to the loss when Target.Traj is set, and writes softmax(z_i/τ) of
// every row into P.
type Trajectory struct {
	Lambda, Tau float64
	Q           []float32 // n × k soft targets (rows without Have are not read)
	Have        []bool    // the rows that have a soft target
	P           []float32 // n × k, written: softmax(z/τ) of each row
}

// Rows returns the view of rows [lo, hi) of t (k outputs per row); nil for a nil t.
func (t *Trajectory) Rows(lo, hi, k int) *Trajectory {
	if t == nil {
		return nil
	}
	return &Trajectory{Lambda: t.Lambda, Tau: t.Tau, Q: t.Q[lo*k : hi*k], Have: t.Have[lo:hi], P: t.P[lo*k : hi*k]}
}

// Eval returns the term on the n rows out (k outputs each) and, when dout is non-nil, adds its
// gradient with respect to out to dout; it writes softmax(out/τ) into P.
func (t *Trajectory) Eval(out []float32, n, k int, dout []float32) float64 {
	if len(t.Q) != n*k || len(t.P) != n*k || len(t.Have) != n {
		panic(fmt.Sprintf("nn: trajectory of %d, %d and %d elements for %d rows of %d outputs", len(t.Q), len(t.P), len(t.Have), n, k))
	}
	tau := t.Tau
	var total float64
	f := t.Lambda * tau / float64(n) // gradient factor
	for r := range n {
		z, p := out[r*k:(r+1)*k], t.P[r*k:(r+1)*k]
		m := z[0]
		for _, v := range z[1:] {
			m = max(m, v)
		}
		var se float64
		for _, v := range z {
			se += math.Exp(float64(v-m) / tau)
		}
		lse := float64(m)/tau + math.Log(se) // log Σ exp(z/τ)
		for j, v := range z {
			p[j] = float32(math.Exp(float64(v)/tau - lse))
		}
		if !t.Have[r] {
			continue
		}
		q := t.Q[r*k : (r+1)*k]
		var kl float64
		for j, v := range z {
			if qj := float64(q[j]); qj > 0 {
				kl += qj * (math.Log(qj) - (float64(v)/tau - lse))
			}
			if dout != nil {
				dout[r*k+j] += float32(f * (math.Exp(float64(v)/tau-lse) - float64(q[j])))
			}
		}
		total += kl
	}
	return t.Lambda * tau * tau * total / float64(n)
}
