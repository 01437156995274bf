package train

import (
	"errors"
	"fmt"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/tensor"
)

// This file is data-parallel training over a dist.Comm (Config.Comm, Config.DistEps) and
// gradient accumulation (Config.Accum, Config.AccumEps); Run calls it at a few points.
//
// Data parallel: the batch (--batch-size) is the global one; every rank draws the same shuffle
// from the shared seed and takes its contiguous share of each batch; rank 0's initial weights
// are broadcast. DistEps "local" (the default, as the SAM paper): each rank's ε from its own
// share, one all-reduce per step (the SAM gradient); "global": the first gradient is reduced
// too, so ε is the whole batch's and the step is single-process SAM's. Reductions weight each
// rank by its share of the batch. All ranks hold the same weights after every step (the
// reduced gradient is the same bits everywhere); Run checks their checksums at every epoch.
// BatchNorm uses each rank's own batch statistics (as PyTorch DDP by default); the running
// averages, which are linear in the batches' statistics, are averaged over the ranks before
// every evaluation and before saving.
//
// Accumulation: AccumEps "global" evaluates every pass of the step on K micro-batches and
// averages them (the memory of one micro-batch, the step of the whole batch); "local" gives each
// micro-batch its own ε, which is m-sharpness with m = the (per-rank) batch / K. BatchNorm
// couples the examples of a batch, so no pass over micro-batches can normalise with the whole
// batch's statistics: with BatchNorm, "global" is the un-accumulated step with ghost batch
// normalisation over the micro-batches (BNGhost = the per-rank batch / K), whose running
// averages are updated once per micro-batch, in order, and not by SAM's second pass.

// parallel is a run's data-parallel and accumulation state.
type parallel struct {
	comm  dist.Comm
	rank  int
	size  int
	micro int       // accumulation: rows per micro-batch of a pass (0 = no split)
	acc   []float32 // accumulation scratch gradient
	f     float64   // this rank's share of the current batch (rows / batch rows)
}

// Modes of DistEps and AccumEps.
const (
	EpsLocal  = "local"
	EpsGlobal = "global"
)

// comm returns c's communicator (Single when nil).
func (c *Config) comm() dist.Comm {
	if c.Comm == nil {
		return dist.Single{}
	}
	return c.Comm
}

// validateParallel checks the data-parallel and accumulation settings that do not depend on
// the data or the number of ranks.
func (c *Config) validateParallel() error {
	switch c.DistEps {
	case "", EpsLocal, EpsGlobal:
	default:
		return fmt.Errorf("--dist-eps: want local or global, got %q", c.DistEps)
	}
	if c.Accum < 0 {
		return fmt.Errorf("--accum: must be ≥ 1, got %d", c.Accum)
	}
	switch c.AccumEps {
	case "", EpsLocal, EpsGlobal:
	default:
		return fmt.Errorf("--accum-eps: want local or global, got %q", c.AccumEps)
	}
	switch {
	case c.BNGhost < 0:
		return fmt.Errorf("--bn-ghost-batch: must be ≥ 0 (0 = off), got %d", c.BNGhost)
	case c.BNGhost > 0 && !hasBatchNorm(c.Model):
		return fmt.Errorf("--bn-ghost-batch: --model %s has no BatchNorm (resnet and wrn have)", c.Model.Model)
	}
	return nil
}

// hasBatchNorm reports whether the models of spec have BatchNorm layers.
func hasBatchNorm(spec nn.Spec) bool { return spec.Model == "resnet" || spec.Model == "wrn" }

// CheckParallel checks c's data-parallel and accumulation settings against the prepared data d
// and c.Comm's ranks. Errors are one line naming the flag; Run checks the same.
func CheckParallel(c *Config, d *Data) error {
	if err := c.validateParallel(); err != nil {
		return err
	}
	ranks := c.comm().Size()
	k := max(c.Accum, 1)
	rho := c.SAM.Rho > 0
	mem, _ := sam.Lookup(c.SAM.Variant)
	if mem == nil {
		return fmt.Errorf("--variant: unknown variant %q", c.SAM.Variant)
	}
	n := d.Train.N()
	bs := c.BatchSize
	if bs == 0 || bs > n {
		bs = n
	}
	esamSelect := mem.Name == "esam" && c.SAM.Param("esam-gamma") < 1
	if err := checkSAF(c, mem, ranks); err != nil {
		return err
	}
	if ranks > 1 {
		if c.BatchSize > 0 && c.BatchSize%ranks != 0 {
			return fmt.Errorf("--batch-size: %d is not divisible by the %d ranks", c.BatchSize, ranks)
		}
		if last := n % bs; last > 0 && last < ranks {
			return fmt.Errorf("--batch-size: the last batch of each epoch has %d examples, fewer than the %d ranks; choose a batch size (or --train-size) that leaves none or at least %d", last, ranks, ranks)
		}
		if c.DistEps == EpsGlobal && rho {
			switch {
			case mem.Name != "sam" && mem.Name != "usam" && mem.Name != "samon" && !(mem.Name == "esam" && !esamSelect):
				return fmt.Errorf("--dist-eps global: --variant %s combines per-rank quantities that do not average to the whole batch's; use --dist-eps local", mem.Name)
			case esamSelect:
				return errors.New("--dist-eps global: esam's data selection (--esam-gamma < 1) would rank each rank's examples only; use --esam-gamma 1 or --dist-eps local")
			case c.SAM.M > 0:
				return errors.New("--dist-eps global: --m sets each chunk's own ε; use --dist-eps local")
			case c.SAM.AscentSteps > 1:
				return errors.New("--dist-eps global: --ascent-steps > 1 would take the later ascent steps on each rank's share; use --dist-eps local")
			}
		}
	} else if c.DistEps != "" {
		return errors.New("--dist-eps: applies to data-parallel runs only (mpirun -np N with a binary built with -tags mpi)")
	}
	share := bs / ranks
	if g := c.BNGhost; g > 0 && share%k == 0 {
		micro := share / k
		if micro%g != 0 {
			return fmt.Errorf("--bn-ghost-batch: %d does not divide the per-rank micro-batch of %d examples (batch %d over %d ranks and %d micro-batches)", g, micro, bs, ranks, k)
		}
		if m := c.SAM.M; m > 0 && m%g != 0 {
			return fmt.Errorf("--bn-ghost-batch: %d does not divide --m %d", g, m)
		}
	}
	if c.Accum == 0 {
		if c.AccumEps != "" {
			return errors.New("--accum-eps: applies with --accum K only")
		}
		return nil
	}
	if c.BatchSize > 0 && share%k != 0 {
		return fmt.Errorf("--accum: the per-rank batch %d (--batch-size %d over %d ranks) is not divisible by --accum %d", share, c.BatchSize, ranks, k)
	}
	if k > share {
		return fmt.Errorf("--accum: %d micro-batches of a per-rank batch of %d examples", k, share)
	}
	if !rho || c.AccumEps != EpsLocal { // global (and ρ = 0: one pass, nothing to be local about)
		// BatchNorm normalises each micro-batch with its own statistics: the step is the
		// un-accumulated one with ghost batches of the micro-batch (--bn-ghost-batch batch/K).
		switch {
		case esamSelect:
			return errors.New("--accum: esam's data selection (--esam-gamma < 1) needs the whole batch's per-example losses; use --esam-gamma 1")
		case c.Model.Dropout > 0 && rho && k > 1:
			return errors.New("--accum-eps global: the second pass would not see each micro-batch's own dropout mask; use --accum-eps local or --dropout 0")
		}
		return nil
	}
	if !mem.MSharpness {
		return fmt.Errorf("--accum-eps local: is m-sharpness (--m batch/K), which --variant %s does not support; use --accum-eps global", mem.Name)
	}
	if c.SAM.M > 0 {
		return errors.New("--accum-eps local: sets --m to the micro-batch size itself; drop --m")
	}
	if ranks > 1 && c.DistEps == EpsGlobal {
		return errors.New("--accum-eps local: with --dist-eps global each micro-batch's ε would mix the ranks' micro-batches; use --dist-eps local")
	}
	return nil
}

// newParallel is called by Run on every rank after building the model and initialising w; it
// is the run's first collective (an Agree, so that a rank that failed before Run stops all
// ranks), checks the settings and broadcasts rank 0's weights. It returns the SAM config to use.
func newParallel(c *Config, d *Data, w []float32, samCfg sam.Config) (*parallel, sam.Config, error) {
	comm := c.comm()
	p := &parallel{comm: comm, rank: comm.Rank(), size: comm.Size()}
	if err := dist.Agree(comm, nil, 1); err != nil {
		return nil, samCfg, err
	}
	if err := dist.Agree(comm, CheckParallel(c, d), 2); err != nil {
		return nil, samCfg, err
	}
	if p.size > 1 {
		c.Ranks = p.size
		if c.DistEps == "" {
			c.DistEps = EpsLocal
		}
		comm.Bcast32(w, 0)
	}
	if c.Accum > 0 && c.AccumEps == "" {
		c.AccumEps = EpsGlobal
	}
	if k := c.Accum; k > 1 {
		n := d.Train.N()
		bs := c.BatchSize
		if bs == 0 || bs > n {
			bs = n
		}
		micro := (bs/p.size + k - 1) / k
		if samCfg.Rho > 0 && c.AccumEps == EpsLocal {
			samCfg.M = micro
		} else {
			p.micro = micro
		}
	}
	return p, samCfg, nil
}

// root reports whether this rank writes outputs and shows progress.
func (p *parallel) root() bool { return p.rank == 0 }

// share returns this rank's rows [lo', hi') of the batch rows [lo, hi), and sets the weight of
// its reductions.
func (p *parallel) share(lo, hi int) (int, int) {
	if p.size == 1 {
		return lo, hi
	}
	n := hi - lo
	a, b := lo+p.rank*n/p.size, lo+(p.rank+1)*n/p.size
	p.f = float64(b-a) / float64(n)
	return a, b
}

// attach makes opt data-parallel (sam.Optimizer.SetReduce) when there are several ranks.
func (p *parallel) attach(opt *sam.Optimizer, c *Config) error {
	if p.size == 1 {
		return nil
	}
	red := func(g []float32, l float64) float64 {
		if f := float32(p.f); f != 1 {
			for i := range g {
				g[i] *= f
			}
		}
		p.comm.AllReduce32(g, dist.Sum)
		v := []float64{l * p.f}
		p.comm.AllReduce64(v, dist.Sum)
		return v[0]
	}
	var first sam.Reduce
	if c.DistEps == EpsGlobal {
		first = red
	}
	return opt.SetReduce(red, first)
}

// augSeed is the seed of this rank's augmentation draws: the run's on rank 0 (so one process is
// unchanged), another stream on each other rank, whose rows are other images.
func (p *parallel) augSeed(seed uint64) uint64 {
	if p == nil || p.rank == 0 {
		return seed
	}
	return seed ^ uint64(p.rank)*0x9e3779b97f4a7c15
}

// accumulate wraps a pass so that it runs on micro-batches of p.micro rows and returns their
// mean (gradient and loss, weighted by rows): the same pass with the memory of one micro-batch.
func (p *parallel) accumulate(f sam.Loss) sam.Loss {
	if p.micro == 0 {
		return f
	}
	return func(w, g []float32, lo, hi int, second bool) float64 {
		if hi-lo <= p.micro {
			return f(w, g, lo, hi, second)
		}
		if p.acc == nil {
			p.acc = make([]float32, len(g))
		}
		n := float64(hi - lo)
		var l float64
		for a := lo; a < hi; a += p.micro {
			b := min(a+p.micro, hi)
			r := float64(b-a) / n
			if a == lo {
				l = f(w, g, a, b, second) * r
				if r != 1 {
					tensor.Scale(float32(r), g)
				}
				continue
			}
			l += f(w, p.acc, a, b, second) * r
			tensor.Axpy(float32(r), p.acc, g)
		}
		return l
	}
}

// sum returns the sum of v over the ranks (a collective).
func (p *parallel) sum(v int) int {
	if p.size == 1 {
		return v
	}
	x := []float64{float64(v)}
	p.comm.AllReduce64(x, dist.Sum)
	return int(x[0])
}

// syncBuffers averages the BatchNorm running statistics over the ranks (a collective).
func (p *parallel) syncBuffers(m *nn.Model) {
	if p.size == 1 {
		return
	}
	for _, b := range m.Buffers() {
		p.comm.AllReduce32(b.Data, dist.Mean)
	}
}

// epoch is the collective at the end of every epoch: every rank learns whether any rank failed
// to write its outputs (err), and that all ranks hold the same weights.
func (p *parallel) epoch(err error, w []float32, step int) error {
	if p.size == 1 {
		return err
	}
	if err := dist.Agree(p.comm, err, 1); err != nil {
		return err
	}
	if !dist.Same(p.comm, dist.Checksum(w)) {
		return fmt.Errorf("dist: the ranks' weights differ after step %d (checksums)", step)
	}
	return nil
}

// rngSeed is the second PCG seed of this rank's dropout stream: rank 0 draws the masks that one
// process would, the others their own.
func (p *parallel) rngSeed() uint64 { return 0xd0 + uint64(p.rank)<<32 }
