package data

import "slices"

// Stats are per-feature standardisation statistics fitted on a training set: a feature x_j
// becomes (x_j − Mean_j)·InvStd_j, in float32, exactly as Standardize applies them. Checkpoints
// store them so that new inputs get the preprocessing the model was trained with.
type Stats struct {
	Mean   []float32 `json:"mean"`
	InvStd []float32 `json:"inv_std"` // 1/σ_j (1 where σ_j is 0)
}

// FitStats computes Standardize's statistics on train (see Standardize for image); nil when
// train is empty.
func FitStats(image bool, train *Set) *Stats {
	d := train.Dim()
	n := train.N()
	if n == 0 || d == 0 {
		return nil
	}
	mean := make([]float64, d)
	variance := make([]float64, d)
	for i := range n {
		for j, v := range train.X[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := range n {
		for j, v := range train.X[i*d : (i+1)*d] {
			e := float64(v) - mean[j]
			variance[j] += e * e
		}
	}
	var avg float64 // σ̄², the mean variance
	for j := range variance {
		variance[j] /= float64(n)
		avg += variance[j] / float64(d)
	}
	st := &Stats{Mean: make([]float32, d), InvStd: make([]float32, d)}
	for j := range d {
		v := variance[j]
		if image {
			v = max(v, avg)
		}
		st.Mean[j], st.InvStd[j] = float32(mean[j]), float32(invStd(v))
	}
	return st
}

// Apply standardises the features of every set in place. Nil sets, sets whose Dim differs from
// the statistics' and repeats of a set are skipped.
func (st *Stats) Apply(sets ...*Set) {
	d := len(st.Mean)
	var seen []*Set
	for _, s := range sets {
		if s == nil || slices.Contains(seen, s) || s.Dim() != d {
			continue
		}
		seen = append(seen, s)
		st.ApplyRows(s.X[:s.N()*d])
	}
}

// ApplyRows standardises rows of Dim features held in x, in place.
func (st *Stats) ApplyRows(x []float32) {
	m, k := st.Mean, st.InvStd
	d := len(m)
	for i := 0; i+d <= len(x); i += d {
		row := x[i : i+d]
		for j, v := range row {
			row[j] = (v - m[j]) * k[j]
		}
	}
}
