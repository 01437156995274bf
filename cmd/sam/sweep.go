package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/samgo/sam/sweep"
)

// defaultRhoGrid is the SAM paper's grid plus ρ = 0, the base optimizer.
const defaultRhoGrid = "0,0.01,0.02,0.05,0.1,0.2,0.5"

// sweepFlags holds the flags of `sam sweep`: every flag of `sam train` except the list-valued
// --rho, --lr, --l2 (and --out, --save, --threads, which mean something else here).
type sweepFlags struct {
	tf                  trainFlags
	rho, lr, l2         string
	seeds, folds        int
	workers, threads    int
	out, shard          string
	shards              int
	quietMerge, quietSw bool
	checkpointEvery     int
}

func newSweepCmd(stdout, stderr io.Writer) *cobra.Command {
	var f sweepFlags
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Tune ρ (and lr, L2) by grid search with cross-validation; resumable and shardable",
		Long: `Run the Cartesian product of --rho × --lr × --l2 × --seeds (× --folds) training runs in
parallel, pick the configuration with the best mean validation metric (accuracy for
classification, loss for regression; ties go to the smaller ρ), retrain it and the ρ = 0
baseline (the base optimizer alone; ρ = 0 is always part of the grid) on train+validation with
every seed, and evaluate them once on the test split.

--out D receives sweep.json (the grid), trials/<id>.json (one per finished trial, written
atomically), results.csv, results.json, report.md and rho.png. Rerunning the same command skips
finished trials and resumes the trials in flight from their checkpoints (trials/ID.checkpoint.
safetensors, written every --checkpoint-every steps and on SIGTERM/SIGINT); a different grid in
the same folder is refused.

Sharding: --shard i/n runs every n-th trial from i; inside a Slurm job array the shard comes
from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, inside a Kubernetes Indexed Job from
JOB_COMPLETION_INDEX with --shards n. All shards write into the same --out; when they are done,
'sam sweep merge D' writes the report an unsharded run would (see deploy/slurm and deploy/k8s).

Every flag of 'sam train' applies to each trial.`,
		Example: `  sam sweep --data digits --model mlp --hidden 64 --epochs 10 --rho 0,0.02,0.05,0.1 --seeds 2 --folds 3 --out runs/sweep-digits
  sam sweep --data wine --rho 0,0.05 --lr 0.001,0.003 --seeds 3 --val-fraction 0.2 --out runs/sweep-wine
  sam sweep ... --shard 1/3 --out /shared/sweep && sam sweep merge /shared/sweep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSweep(cmd, &f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	tmp := pflag.NewFlagSet("train", pflag.ContinueOnError)
	f.tf.register(tmp)
	skip := map[string]bool{"rho": true, "lr": true, "l2": true, "out": true, "save": true, "threads": true, "quiet": true, "dist-eps": true}
	usages := map[string]string{
		"seed":         "first seed: the trials use --seed, --seed+1, ... (--seeds of them); --seed also draws the test split, the folds and the label noise, which every trial shares",
		"val-fraction": "without --folds: fraction of the training pool held out for validation, in (0,1)",
		"label-noise":  "symmetric label noise on the training pool (training and validation labels; the test set stays clean)",
	}
	tmp.VisitAll(func(x *pflag.Flag) {
		if u, ok := usages[x.Name]; ok {
			x.Usage = u
		}
		if !skip[x.Name] {
			fl.AddFlag(x)
		}
	})
	fl.StringVar(&f.rho, "rho", defaultRhoGrid, "comma-separated ρ values to try (0, the base optimizer, is always added)")
	fl.StringVar(&f.lr, "lr", "", "comma-separated learning rates to try (default 0.1 for sgd, 0.0005 for adam/adamw)")
	fl.StringVar(&f.l2, "l2", "0", "comma-separated L2 strengths λ to try")
	fl.IntVar(&f.seeds, "seeds", 1, "seeds per configuration: --seed, --seed+1, ...")
	fl.IntVar(&f.folds, "folds", 0, "k-fold cross-validation of the training pool (k ≥ 2; default: one --val-fraction split)")
	fl.IntVar(&f.workers, "workers", 0, "trials run in parallel (0 = the number of CPUs)")
	fl.IntVar(&f.threads, "threads", 0, "kernel threads per trial (0 = CPUs / workers, at least 1)")
	fl.StringVar(&f.out, "out", "", "sweep folder (required): sweep.json, trials/, results.csv, results.json, report.md, rho.png")
	fl.StringVar(&f.shard, "shard", "", "run only shard i of n, as i/n (default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, JOB_COMPLETION_INDEX with --shards, or the whole grid)")
	fl.IntVar(&f.shards, "shards", 0, "number of shards, with JOB_COMPLETION_INDEX (Kubernetes Indexed Job)")
	fl.BoolVar(&f.quietSw, "quiet", false, "no progress output")
	fl.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "every this many steps, write each running trial's training state to D/trials/ID.checkpoint.safetensors (also on SIGTERM and SIGINT); a rerun resumes it (0 = only on a signal)")

	merge := &cobra.Command{
		Use:   "merge D",
		Short: "Finish a sharded sweep in folder D: final runs, results.csv/json, report.md, rho.png",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := sweep.Options{Out: args[0], Workers: f.workers, Threads: f.threads}
			if !f.quietMerge {
				o.Log = stderr
			}
			if f.workers < 0 || f.threads < 0 {
				return usage(errors.New("--workers/--threads: must be ≥ 0"))
			}
			r, err := sweep.Merge(cmd.Context(), o)
			if err != nil {
				return err
			}
			printResults(stdout, r, args[0])
			return nil
		},
	}
	merge.Flags().IntVar(&f.workers, "workers", 0, "final runs in parallel (0 = the number of CPUs)")
	merge.Flags().IntVar(&f.threads, "threads", 0, "kernel threads per run (0 = CPUs / workers)")
	merge.Flags().BoolVar(&f.quietMerge, "quiet", false, "no progress output")
	cmd.AddCommand(merge)
	return cmd
}

// spec turns the flags into a sweep.Spec.
func (f *sweepFlags) spec(cmd *cobra.Command) (*sweep.Spec, error) {
	changed := cmd.Flags().Changed
	rhos, err := sweep.ParseList("rho", f.rho, 0, false)
	if err != nil {
		return nil, err
	}
	hasZero := false
	for _, r := range rhos {
		hasZero = hasZero || r == 0
	}
	if !hasZero {
		rhos = append([]float64{0}, rhos...)
	}
	var lrs []float64
	if changed("lr") {
		if lrs, err = sweep.ParseList("lr", f.lr, 0, true); err != nil {
			return nil, err
		}
		f.tf.lr = lrs[0]
	}
	l2s, err := sweep.ParseList("l2", f.l2, 0, false)
	if err != nil {
		return nil, err
	}
	f.tf.rho, f.tf.l2 = rhos[0], l2s[0]
	if f.folds != 0 && changed("val-fraction") {
		return nil, errors.New("--folds and --val-fraction: give one of them")
	}
	if f.folds != 0 && f.folds < 2 {
		return nil, fmt.Errorf("--folds: must be ≥ 2, got %d", f.folds)
	}
	if f.seeds < 1 {
		return nil, fmt.Errorf("--seeds: must be ≥ 1, got %d", f.seeds)
	}
	if f.workers < 0 || f.threads < 0 {
		return nil, errors.New("--workers/--threads: must be ≥ 0")
	}
	c, err := f.tf.config(cmd)
	if err != nil {
		return nil, err
	}
	if lrs == nil {
		lrs = []float64{c.LR}
	}
	s := &sweep.Spec{Rho: rhos, LR: lrs, L2: l2s, Seeds: f.seeds, Folds: f.folds}
	if f.folds >= 2 {
		c.ValFraction = 0
	} else {
		s.ValFraction = c.ValFraction
	}
	s.Base = *c
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

func runSweep(cmd *cobra.Command, f *sweepFlags, stdout, stderr io.Writer) error {
	if f.out == "" {
		return usage(errors.New("--out: required (the sweep folder)"))
	}
	s, err := f.spec(cmd)
	if err != nil {
		return usage(err)
	}
	i, n, err := sweep.ResolveShard(f.shard, f.shards, nil)
	if err != nil {
		return usage(err)
	}
	if f.checkpointEvery < 0 {
		return usage(fmt.Errorf("--checkpoint-every: must be ≥ 0, got %d", f.checkpointEvery))
	}
	o := sweep.Options{Out: f.out, Workers: f.workers, Threads: f.threads, Shard: i, Shards: n, CheckpointEvery: f.checkpointEvery}
	if !f.quietSw {
		o.Log = stderr
	}
	r, err := sweep.Run(cmd.Context(), s, o)
	if errors.Is(err, context.Canceled) {
		e := fmt.Errorf("interrupted: the finished trials are kept in %s, the running ones checkpointed there; rerun the same command to resume", filepath.Join(f.out, sweep.TrialsDir))
		var sc signalCause
		if errors.As(context.Cause(cmd.Context()), &sc) {
			return exitError{e, sc.exitCode()}
		}
		return e
	}
	if err != nil {
		if isBadData(err) {
			return usage(err)
		}
		return err
	}
	if r == nil {
		fmt.Fprintf(stdout, "shard %d/%d done in %s; when every shard is done: sam sweep merge %s\n", i, n, f.out, f.out)
		return nil
	}
	printResults(stdout, r, f.out)
	return nil
}

// isBadData tells input errors found while loading the data (exit 2) from failed runs (exit 1).
func isBadData(err error) bool {
	var ue usageError
	if errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"--", "data:"} {
		if len(msg) >= len(p) && msg[:len(p)] == p {
			return true
		}
	}
	return false
}

func printResults(w io.Writer, r *sweep.Results, out string) {
	b := r.Best
	metric := func(p sweep.Point) string {
		if p.ValAccMean != nil {
			return fmt.Sprintf("val acc %.2f ± %.2f%%", 100**p.ValAccMean, 100**p.ValAccStd)
		}
		if p.ValLossMean != nil {
			return fmt.Sprintf("val loss %.4f ± %.4f", *p.ValLossMean, *p.ValLossStd)
		}
		return "val metric not finite"
	}
	test := func(t *sweep.TestSummary) string {
		if t == nil {
			return ""
		}
		if t.TestAccMean != nil {
			return fmt.Sprintf(", test acc %.2f ± %.2f%%", 100**t.TestAccMean, 100**t.TestAccStd)
		}
		if t.TestLossMean != nil {
			return fmt.Sprintf(", test loss %.4f ± %.4f", *t.TestLossMean, *t.TestLossStd)
		}
		return ""
	}
	fmt.Fprintf(w, "best: ρ %g, lr %g, l2 %g: %s%s\n", b.Rho, b.LR, b.L2, metric(b), test(r.Test.Best))
	if r.Baseline != nil {
		fmt.Fprintf(w, "baseline ρ = 0: lr %g, l2 %g: %s%s\n", r.Baseline.LR, r.Baseline.L2, metric(*r.Baseline), test(r.Test.Baseline))
	}
	fmt.Fprintf(w, "report: %s/report.md\n", out)
}
