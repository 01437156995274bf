package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/train"
)

// `sam bench` under mpirun: every rank times its share of the global --batch, reducing as
// `sam train` does (--dist-eps), and rank 0 prints the line with the ranks, the mode and the
// time of one all-reduce of the parameters.

// benchShare checks the data-parallel settings of c for N ranks and returns the rows of the
// global batch that one rank takes.
func benchShare(comm dist.Comm, c *train.Config, batch int) (int, error) {
	if c.Accum != 0 || c.AccumEps != "" {
		return 0, errors.New("--accum: sam bench does not time accumulation")
	}
	if c.BNGhost != 0 {
		return 0, errors.New("--bn-ghost-batch: sam bench does not time ghost batch normalisation")
	}
	n := comm.Size()
	if n == 1 {
		if c.DistEps != "" {
			return 0, errors.New("--dist-eps: applies to data-parallel runs only (mpirun -np N with a binary built with -tags mpi)")
		}
		return batch, nil
	}
	if batch%n != 0 {
		return 0, fmt.Errorf("--batch: %d is not divisible by the %d ranks", batch, n)
	}
	return batch / n, nil
}

// benchAttach makes opt reduce over comm as `sam train --dist-eps mode` does (equal shares).
func benchAttach(comm dist.Comm, opt *sam.Optimizer, mode string) error {
	if comm.Size() == 1 {
		return nil
	}
	red := func(g []float32, l float64) float64 {
		comm.AllReduce32(g, dist.Mean)
		v := []float64{l}
		comm.AllReduce64(v, dist.Mean)
		return v[0]
	}
	var first sam.Reduce
	if mode == train.EpsGlobal {
		first = red
	}
	return opt.SetReduce(red, first)
}

// barrier waits for every rank (an all-reduce of one number).
func barrier(comm dist.Comm) {
	if comm.Size() > 1 {
		comm.AllReduce64([]float64{0}, dist.Sum)
	}
}

// allReduceMS is the mean time, in milliseconds, of one all-reduce of n float32 (the parameter
// vector) plus one of a float64 (the loss): what a step's reduction costs.
func allReduceMS(comm dist.Comm, n int) float64 {
	if comm.Size() == 1 {
		return 0
	}
	g := make([]float32, n)
	l := []float64{0}
	reps := 20
	for range 3 {
		comm.AllReduce32(g, dist.Mean)
	}
	barrier(comm)
	start := time.Now()
	for range reps {
		comm.AllReduce32(g, dist.Mean)
		comm.AllReduce64(l, dist.Mean)
	}
	ms := []float64{time.Since(start).Seconds() * 1e3 / float64(reps)}
	comm.AllReduce64(ms, dist.Max)
	return ms[0]
}
