package sam

import (
	"slices"

	"github.com/samgo/sam/tensor"
)

// SAM (Foret et al., ICLR 2021): ε = ρ·g/‖g‖ from the gradient g at w, then the gradient at w+ε
// on the same mini-batch. With m-sharpness (--m, the paper's §4.1) each chunk of m examples takes
// its own ε and the chunks' gradients at their w+ε are averaged, weighted by chunk size.
func init() {
	Register(&Member{
		Name: "sam", Title: "SAM", Source: "Foret et al., ICLR 2021",
		Summary:    "gradient at w + ρ·g/‖g‖ (any p-norm; ASAM with --adaptive; m-sharpness with --m)",
		Passes:     "2",
		MSharpness: true,
		New:        func(Config, *Perturbation) Rule { return &plain{} },
	})
}

// plain is SAM's rule, with m-sharpness; USAM and SAM-ON are this rule with another ε.
type plain struct {
	acc  []float32 // m-sharpness: the running average of the chunks' gradients
	loss []float64 // m-sharpness: the chunks' first-pass losses
	// m-sharpness on forks (Optimizer.SetForks): a Step per fork (its own perturbed point and
	// ascent scratch) and a gradient buffer per chunk of a window.
	sub []Step
	gs  [][]float32
}

// forkWindow bounds the memory of m-sharpness on forks: the chunks' gradients that are kept
// until they are averaged, in bytes (at least one chunk per thread).
var forkWindow = 64 << 20

func (r *plain) Gradient(s *Step) (float64, []float32) {
	n, m := s.N, s.Cfg.M
	if m <= 0 || m >= n {
		l := s.Grad(s.G, 0, n)
		s.Ascend(s.G, 0, n, s.Cfg.Rho)
		return l, s.G
	}
	if r.acc == nil {
		r.acc = make([]float32, len(s.G))
	}
	chunks := (n + m - 1) / m
	r.loss = slices.Grow(r.loss[:0], chunks)[:chunks]
	if k := min(tensor.Threads(), chunks, len(s.forks)+1); k > 1 && s.first == nil {
		r.forked(s, chunks, k)
	} else { // (a data-parallel first pass all-reduces in chunk order on every worker)
		for c := range chunks {
			r.chunk(s, c, s.G)
			gs := [][]float32{s.G}
			r.add(s, c, c+1, gs)
			s.G = gs[0]
		}
	}
	var l float64
	for c := range chunks {
		lo, hi := c*m, min(c*m+m, n)
		l += r.loss[c] * float64(hi-lo) / float64(n)
	}
	return l, r.acc
}

// chunk evaluates chunk c on t: its loss at w into r.loss[c], its gradient at its w+ε into g.
func (r *plain) chunk(t *Step, c int, g []float32) {
	lo, hi := c*t.Cfg.M, min((c+1)*t.Cfg.M, t.N)
	r.loss[c] = t.Grad(g, lo, hi)
	t.Ascend(g, lo, hi, t.Cfg.Rho)
}

// add adds the shares of chunks [c0,c1), whose gradients are gs, to the average, element by
// element in chunk order (the threads split the elements). The first chunk's share f·g becomes
// the average: its buffer changes places with the average's (gs[0] is then the old average).
func (r *plain) add(s *Step, c0, c1 int, gs [][]float32) {
	share := func(c int) float32 {
		lo, hi := c*s.Cfg.M, min((c+1)*s.Cfg.M, s.N)
		return float32(hi-lo) / float32(s.N)
	}
	tensor.Parallel(len(r.acc), 1<<14, func(lo, hi int) {
		acc := r.acc[lo:hi]
		if c0 == 0 {
			acc = gs[0][lo:hi]
		}
		for c := c0; c < c1; c++ {
			if g := gs[c-c0][lo:hi]; c == 0 {
				tensor.Scale(share(0), g)
			} else {
				tensor.Axpy(share(c), g, acc)
			}
		}
	})
	if c0 == 0 {
		r.acc, gs[0] = gs[0], r.acc
	}
}

// forked evaluates the chunks k at a time, each chunk's kernels on one thread: the caller's on
// s, the helpers' on the forks' Steps. The chunks of a window keep their gradients apart until
// the window's end, when add averages them in chunk order: the bits of one chunk after another.
func (r *plain) forked(s *Step, chunks, k int) {
	for len(r.sub) < k-1 {
		r.sub = append(r.sub, Step{})
	}
	for i := range r.sub[:k-1] {
		t := &r.sub[i]
		wp, eps := t.WP, t.eps
		if wp == nil {
			wp = make([]float32, len(s.G))
		}
		*t = *s
		t.G, t.WP, t.eps, t.Loss = nil, wp, eps, s.forks[i]
	}
	w := min(chunks, max(k, forkWindow/(4*max(len(s.G), 1))))
	for len(r.gs) < w {
		r.gs = append(r.gs, make([]float32, len(s.G)))
	}
	for c0 := 0; c0 < chunks; c0 += w {
		c1 := min(c0+w, chunks)
		func() {
			defer tensor.SetThreads(tensor.SetThreads(1))
			tensor.ParallelSlotsOn(k, c1-c0, 1, func(slot, lo, hi int) {
				t := s
				if slot > 0 {
					t = &r.sub[slot-1]
				}
				for c := lo; c < hi; c++ {
					r.chunk(t, c0+c, r.gs[c])
				}
			})
		}()
		r.add(s, c0, c1, r.gs)
	}
}
