package main

import (
	"errors"
	"io"
	"sync"

	"github.com/spf13/pflag"

	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/train"
)

// distFlags are the data-parallel and accumulation flags of `sam train`.
type distFlags struct {
	distEps, accumEps string
	accum, ghost      int
}

func (f *distFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.distEps, "dist-eps", "", "data parallel (mpirun -np N, a binary built with -tags mpi): local (each rank's ε from its share of the batch, one all-reduce per step; the default) or global (ε from the whole batch: exactly one process's SAM, two all-reduces)")
	fl.IntVar(&f.accum, "accum", 0, "gradient accumulation: split each (per-rank) batch into this many micro-batches (memory of one micro-batch; 0 = off)")
	fl.StringVar(&f.accumEps, "accum-eps", "", "with --accum: global (ε from the whole batch: the un-accumulated step, with BatchNorm the one of --bn-ghost-batch batch/K; the default) or local (each micro-batch its own ε: --m batch/K)")
	fl.IntVar(&f.ghost, "bn-ghost-batch", 0, "resnet, wrn: ghost batch normalisation: BatchNorm normalises each (per-rank micro-)batch in training in chunks of this many examples, each with its own statistics (0 = off)")
}

// apply copies the flags into c.
func (f *distFlags) apply(c *train.Config) {
	c.DistEps, c.Accum, c.AccumEps, c.BNGhost = f.distEps, f.accum, f.accumEps, f.ghost
}

// world is the job's communicator, opened once per process: MPI's world in a binary built
// with -tags mpi and started by an MPI launcher, one process otherwise.
var world = sync.OnceValues(dist.World)

// closeWorld ends MPI, if this process opened it (main calls it before exiting).
var closeWorld = func() {}

// runTrainDist is `sam train` on every rank of the job: each rank runs runTrain, only rank 0
// writes to stdout and stderr, and an error on any rank ends all of them with the same message
// and exit status.
func runTrainDist(f *trainFlags, run func(comm dist.Comm, stdout, stderr io.Writer) error, stdout, stderr io.Writer) error {
	comm, err := world()
	if err != nil {
		return err
	}
	closeWorld = func() { comm.Close() }
	if comm.Size() == 1 {
		return run(comm, stdout, stderr)
	}
	if comm.Rank() != 0 {
		stdout, stderr = io.Discard, io.Discard
	}
	err = run(comm, stdout, stderr)
	code := 1
	var ue usageError
	if errors.As(err, &ue) {
		code = 2
	}
	err = dist.Agree(comm, err, code)
	var ag *dist.Agreed
	if errors.As(err, &ag) && ag.Code == 2 {
		return usage(err)
	}
	return err
}
