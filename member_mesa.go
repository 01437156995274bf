package sam

import (
	"fmt"
	"math"

	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// MESA (Du et al., NeurIPS 2022, "Memory-Efficient Sharpness-Aware training", SAF's variant):
// SAF's trajectory term with the soft targets from an exponential moving average of the
// weights instead of stored outputs, one extra forward pass per step:
//
//	w̄_0 = w_0,  w̄_t = β·w̄_{t−1} + (1−β)·w_t
//	L = L_CE(w_t) + λ·τ²·(1/|B|)·Σ_{i∈B} KL(softmax(z_i(w̄_t)/τ) ‖ softmax(z_i(w_t)/τ))
//
// as the authors' code (AngusDujw/SAF, MESA_train.py: timm's weight EMA, updated after each
// optimizer step, decay 0.9998 by the --model-ema-decay default that SAF_train.py declares;
// λ = 0.8 in run.sh, τ = 5, the term in the epochs after kl_start_epoch 5). Here w̄ is
// updated at the start of each step from the weights the previous step left, which is the same
// sequence; "epoch" is counted per example as in SAF (the term applies from an example's visit
// start+1 on). The teacher's pass is a second pass at w̄ (the previous step's dropout masks,
// BatchNorm with the batch's statistics and no update of its running averages). timm keeps its
// EMA copy in eval mode (no dropout, BatchNorm with running statistics, not checked against
// this timm version), which differs for models with dropout or BatchNorm; for the plain MLPs of
// RESULTS.md the two agree. λ = 0 is the base optimizer, bit for bit (w̄ is still kept). Without the
// per-example view (Trajectory and Teacher, the training loop's nn.Examples) it is the base step.
func init() {
	Register(&Member{
		Name: "mesa", Title: "MESA", Source: "Du et al., NeurIPS 2022",
		Summary: "no ascent: cross-entropy + λ·τ²·KL(softmax(z(w̄)/τ) ‖ softmax(z/τ)), w̄ an exponential average of the weights (β)",
		Passes:  "1 + 1 forward",
		RhoFree: true,
		Params: []Param{
			{Name: "mesa-lambda", Default: 0.8, Range: "[0,inf)", Help: "mesa: weight λ of the trajectory term (0 = base optimizer)"},
			{Name: "mesa-tau", Default: 5, Range: "(0,inf)", Help: "mesa: temperature τ of the trajectory term"},
			{Name: "mesa-decay", Default: 0.9998, Range: "[0,1]", Help: "mesa: decay β of the weight average w̄ ← βw̄ + (1−β)w"},
			{Name: "mesa-start", Default: 5, Range: "[0,inf)", Int: true, Help: "mesa: the term applies to an example from its visit start+1 on (counted from 0; the authors' kl_start_epoch)"},
		},
		Check: noAscent("mesa"),
		New: func(c Config, p *Perturbation) Rule {
			return &mesa{lambda: c.Param("mesa-lambda"), tau: c.Param("mesa-tau"), decay: float32(c.Param("mesa-decay")),
				start: int(c.Param("mesa-start")), ema: make([]float32, p.Layout.Size())}
		},
	})
}

// Teacher is the part of the per-example view that MESA needs beside Trajectory: a forward pass
// at other weights and its softened outputs. The training loop's nn.Examples implements it.
type Teacher interface {
	// Forward evaluates the model at w on the mini-batch as a second pass, without a gradient.
	Forward(w []float32)
	// SoftOutputs writes softmax(z/τ) of the last evaluation's n output rows into dst.
	SoftOutputs(dst []float32, tau float64)
}

type mesa struct {
	lambda, tau float64
	decay       float32
	start       int
	ema         []float32 // w̄
	have        bool      // w̄ is set
	seen        []float32 // visits per example
	q, p        []float32
	rows        []bool
}

func (r *mesa) Gradient(s *Step) (float64, []float32) {
	if !r.have {
		copy(r.ema, s.W)
		r.have = true
	} else {
		// w̄ ← β·w̄ + (1−β)·w, each product rounded, in two vector passes over the threads.
		tensor.Scale(r.decay, r.ema)
		tensor.AddScaled(r.ema, r.ema, 1-r.decay, s.W)
	}
	tr, ok := s.Ex.(Trajectory)
	te, ok2 := s.Ex.(Teacher)
	if !ok || !ok2 || r.lambda == 0 || tr.Index() == nil {
		return s.Grad(s.G, 0, s.N), s.G
	}
	idx, k, n := tr.Index(), tr.Classes(), s.N
	if len(idx) != n {
		panic(fmt.Sprintf("sam: mesa: the view has %d indices for a batch of %d", len(idx), n))
	}
	top := 0
	for _, i := range idx {
		top = max(top, i+1)
	}
	if top > len(r.seen) {
		r.seen = append(r.seen, make([]float32, top-len(r.seen))...)
	}
	r.q, r.p, r.rows = grow(r.q, n*k), grow(r.p, n*k), growBool(r.rows, n)
	on := false
	for b, i := range idx {
		r.rows[b] = int(r.seen[i]) > r.start
		on = on || r.rows[b]
	}
	if on {
		te.Forward(r.ema)
		te.SoftOutputs(r.q, r.tau)
		tr.SetSoft(r.q, r.rows, r.p, r.lambda, r.tau)
	}
	l := s.Grad(s.G, 0, n)
	tr.SetSoft(nil, nil, nil, 0, 0)
	if math.IsNaN(l) || math.IsInf(l, 0) || !tensor.Finite(s.G) {
		return l, s.G
	}
	for _, i := range idx {
		r.seen[i]++
	}
	return l, s.G
}

// SaveState implements optim.Stateful: w̄ and the visit counts.
func (r *mesa) SaveState(s *optim.State, prefix string) {
	putKept(s, prefix+"ema", r.ema, r.have)
	if len(r.seen) > 0 {
		s.PutNumber(prefix+"examples", float64(len(r.seen)))
		s.PutVector(prefix+"seen", r.seen)
	}
}

// LoadState implements optim.Stateful.
func (r *mesa) LoadState(s *optim.State, prefix string) error {
	var err error
	if r.have, err = loadKept(s, prefix+"ema", r.ema); err != nil {
		return err
	}
	r.seen = nil
	nf, ok := s.Numbers[prefix+"examples"]
	if !ok {
		return nil
	}
	n := int(nf)
	if float64(n) != nf || n < 1 || n > 1<<30 {
		return fmt.Errorf("sam: state %sexamples: invalid size %g", prefix, nf)
	}
	seen, err := s.Vector(prefix+"seen", n)
	if err != nil {
		return err
	}
	if seen == nil {
		return fmt.Errorf("sam: state %sseen is missing", prefix)
	}
	for _, v := range seen {
		if !(v >= 0 && v == float32(math.Trunc(float64(v)))) {
			return fmt.Errorf("sam: state %sseen holds %g, not a visit count", prefix, v)
		}
	}
	r.seen = seen
	return nil
}
