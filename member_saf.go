package sam

import (
	"fmt"
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// SAF (Du et al., NeurIPS 2022, "Sharpness-Aware Training for Free"): no ascent at all, one pass
// per step on a loss with a trajectory term that penalises the change of the model's outputs
// from E epochs ago:
//
//	L = L_CE(w) + λ·τ²·(1/|B|)·Σ_{i∈B} KL(softmax(z_i^{(e−E)}/τ) ‖ softmax(z_i(w)/τ))
//
// z_i(w) the logits of example i now, z_i^{(e−E)} its logits when it was seen E epochs ago
// (stored, as softmax(z/τ), when the example is seen). The authors' code (AngusDujw/SAF,
// SAF_train.py) keeps each example's logits of the last E+1 epochs, sums the KL over the
// classes, averages it over the batch, multiplies by τ² and adds λ times it to the
// cross-entropy in the epochs after kl_start_epoch (and before kl_end_epoch); its README's
// defaults are λ = 0.3, τ = 5, E = 2 or 3 (run.sh: 2), kl_start_epoch 5. Here "epoch" is
// counted per example (the times it was seen, as the epochs of a shuffled pass): on its visit v
// (0-based) example i gets the term when v ≥ E and v > start, the code's
// `epoch > kl_start_epoch`. There is no end epoch here: the term runs to the end of training.
// A batch row that has no soft target yet contributes only its cross-entropy (and counts in
// |B|). The memory is member state, saved in checkpoints. The loss a step returns is the whole
// L (the loss whose gradient is taken). λ = 0 is the base optimizer, bit for bit.
//
// SAF needs the per-example view Trajectory (the training loop's nn.Examples); a caller
// without it (Step, StepExamples with a view that is not a Trajectory or has no indices) gets
// the base step.
func init() {
	Register(&Member{
		Name: "saf", Title: "SAF", Source: "Du et al., NeurIPS 2022",
		Summary: "no ascent: cross-entropy + λ·τ²·KL(softmax(z^{(e−E)}/τ) ‖ softmax(z/τ)) to the model's own outputs from E epochs ago",
		Passes:  "1",
		RhoFree: true,
		Params: []Param{
			{Name: "saf-lambda", Default: 0.3, Range: "[0,inf)", Help: "saf: weight λ of the trajectory term (0 = base optimizer)"},
			{Name: "saf-tau", Default: 5, Range: "(0,inf)", Help: "saf: temperature τ of the trajectory term"},
			{Name: "saf-epochs", Default: 2, Range: "[1,1024]", Int: true, Help: "saf: E, the soft targets are the model's outputs from E epochs ago"},
			{Name: "saf-start", Default: 5, Range: "[0,inf)", Int: true, Help: "saf: the term applies to an example from its visit start+1 on (counted from 0; the authors' kl_start_epoch)"},
		},
		Check: noAscent("saf"),
		New: func(c Config, _ *Perturbation) Rule {
			return &saf{lambda: c.Param("saf-lambda"), tau: c.Param("saf-tau"),
				e: int(c.Param("saf-epochs")), start: int(c.Param("saf-start"))}
		},
	})
}

// Trajectory is the per-example view of the mini-batch that SAF needs, passed to
// Optimizer.StepExamples as its Examples argument (the training loop's nn.Examples implements
// both).
type Trajectory interface {
	// Index returns the positions in the training set of the mini-batch's n examples.
	Index() []int
	// Classes returns the number of outputs per example.
	Classes() int
	// SetSoft makes the following first passes (Loss with second = false) on these examples add
	// λ·τ²·(1/n)·Σ_{i: have[i]} KL(q_i ‖ softmax(z_i/τ)) to the loss and its gradient, and
	// write softmax(z_i/τ) of every example into p (n × Classes, like q); q = nil removes it.
	SetSoft(q []float32, have []bool, p []float32, lambda, tau float64)
}

type saf struct {
	lambda, tau float64
	e, start    int
	k           int       // classes, from the first view
	mem         []float32 // example i's slot j (visit mod E): mem[(i·E+j)·k : +k], softmax(z/τ)
	seen        []float32 // visits per example (exact to 2^24)
	q, p        []float32 // scratch: the batch's soft targets and new outputs
	have        []bool
}

func (r *saf) Gradient(s *Step) (float64, []float32) {
	tr, ok := s.Ex.(Trajectory)
	if !ok || r.lambda == 0 || tr.Index() == nil {
		return s.Grad(s.G, 0, s.N), s.G
	}
	idx, k, n, e := tr.Index(), tr.Classes(), s.N, r.e
	if len(idx) != n {
		panic(fmt.Sprintf("sam: saf: the view has %d indices for a batch of %d", len(idx), n))
	}
	if r.k == 0 {
		r.k = k
	} else if r.k != k {
		panic(fmt.Sprintf("sam: saf: the view has %d classes, earlier %d", k, r.k))
	}
	top := 0
	for _, i := range idx {
		top = max(top, i+1)
	}
	if top > len(r.seen) {
		r.seen = append(r.seen, make([]float32, top-len(r.seen))...)
		r.mem = append(r.mem, make([]float32, top*e*k-len(r.mem))...)
	}
	r.q, r.p, r.have = grow(r.q, n*k), grow(r.p, n*k), growBool(r.have, n)
	for b, i := range idx {
		v := int(r.seen[i])
		r.have[b] = v >= e && v > r.start
		if r.have[b] {
			j := (i*e + v%e) * k
			copy(r.q[b*k:(b+1)*k], r.mem[j:j+k])
		}
	}
	tr.SetSoft(r.q, r.have, r.p, r.lambda, r.tau)
	l := s.Grad(s.G, 0, n)
	tr.SetSoft(nil, nil, nil, 0, 0)
	if math.IsNaN(l) || math.IsInf(l, 0) || !tensor.Finite(s.G) {
		return l, s.G // the core refuses the step; the memory stays as it was
	}
	for b, i := range idx {
		v := int(r.seen[i])
		j := (i*e + v%e) * k
		copy(r.mem[j:j+k], r.p[b*k:(b+1)*k])
		r.seen[i]++
	}
	return l, s.G
}

func growBool(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	return b[:n]
}

// SaveState implements optim.Stateful: the visit counts and the stored outputs.
func (r *saf) SaveState(s *optim.State, prefix string) {
	if len(r.seen) == 0 {
		return
	}
	s.PutNumber(prefix+"examples", float64(len(r.seen)))
	s.PutNumber(prefix+"classes", float64(r.k))
	s.PutVector(prefix+"seen", r.seen)
	s.PutVector(prefix+"outputs", r.mem)
}

// LoadState implements optim.Stateful.
func (r *saf) LoadState(s *optim.State, prefix string) error {
	if _, ok := s.Numbers[prefix+"examples"]; !ok {
		r.seen, r.mem, r.k = nil, nil, 0
		return nil
	}
	nf, _ := s.Number(prefix + "examples")
	kf, err := s.Number(prefix + "classes")
	if err != nil {
		return err
	}
	n, k := int(nf), int(kf)
	if float64(n) != nf || float64(k) != kf || n < 1 || k < 1 || n > 1<<30 || k > 1<<20 || n*k*r.e > 1<<31 {
		return fmt.Errorf("sam: state %sexamples/classes: invalid sizes %g, %g", prefix, nf, kf)
	}
	seen, err := s.Vector(prefix+"seen", n)
	if err != nil {
		return err
	}
	mem, err := s.Vector(prefix+"outputs", n*r.e*k)
	if err != nil {
		return err
	}
	if seen == nil || mem == nil {
		return fmt.Errorf("sam: state %sseen or %soutputs is missing", prefix, prefix)
	}
	for _, v := range seen {
		if !(v >= 0 && v == float32(math.Trunc(float64(v)))) {
			return fmt.Errorf("sam: state %sseen holds %g, not a visit count", prefix, v)
		}
	}
	r.seen, r.mem, r.k = seen, mem, k
	return nil
}
