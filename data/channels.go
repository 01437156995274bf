package data

// StandardizeChannels centres each channel of image data (Shape [C,H,W]) on its mean over
// every pixel of every training image and divides it by its standard deviation (a σ of 0
// counts as 1), as CIFAR pipelines do; the statistics come from train alone and are applied
// to train and to every set in others. Sets whose Shape differs from train's, nil sets and
// repeats are skipped; an empty train or a shape that is not [C,H,W] leaves everything
// unchanged.
func StandardizeChannels(train *Set, others ...*Set) {
	if train.N() == 0 || len(train.Shape) != 3 {
		return
	}
	c, hw := train.Shape[0], train.Shape[1]*train.Shape[2]
	mean, k := ChannelStats(train)
	d := c * hw
	seen := map[*Set]bool{}
	for _, s := range append([]*Set{train}, others...) {
		if s == nil || seen[s] || s.Dim() != d || len(s.Shape) != 3 || s.Shape[0] != c {
			continue
		}
		seen[s] = true
		x := s.X[:s.N()*d]
		for i := 0; i < len(x); i += hw {
			ch := (i / hw) % c
			m, f := mean[ch], k[ch]
			for j, v := range x[i : i+hw] {
				x[i+j] = (v - m) * f
			}
		}
	}
}

// ChannelStats returns each channel's mean and 1/σ over the images of s (Shape [C,H,W]).
func ChannelStats(s *Set) (mean, invstd []float32) {
	c, hw := s.Shape[0], s.Shape[1]*s.Shape[2]
	n := s.N()
	sum := make([]float64, c)
	for i := range n * c {
		var t float64
		for _, v := range s.X[i*hw : (i+1)*hw] {
			t += float64(v)
		}
		sum[i%c] += t
	}
	cnt := float64(n * hw)
	mean = make([]float32, c)
	invstd = make([]float32, c)
	for ch := range c {
		mu := sum[ch] / cnt
		var ss float64
		for e := range n {
			for _, v := range s.X[(e*c+ch)*hw : (e*c+ch+1)*hw] {
				d := float64(v) - mu
				ss += d * d
			}
		}
		mean[ch], invstd[ch] = float32(mu), float32(invStd(ss/cnt))
	}
	return mean, invstd
}

// FitChannelStats returns StandardizeChannels' statistics on train as per-feature Stats (each
// feature takes its channel's mean and 1/σ), so that they are stored and applied like
// FitStats'; nil when train is empty or not a [C,H,W] image set.
func FitChannelStats(train *Set) *Stats {
	if train.N() == 0 || len(train.Shape) != 3 {
		return nil
	}
	c, hw := train.Shape[0], train.Shape[1]*train.Shape[2]
	mean, k := ChannelStats(train)
	st := &Stats{Mean: make([]float32, c*hw), InvStd: make([]float32, c*hw)}
	for j := range st.Mean {
		st.Mean[j], st.InvStd[j] = mean[j/hw], k[j/hw]
	}
	return st
}
