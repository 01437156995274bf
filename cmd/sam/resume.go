package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/samgo/sam/train"
)

// resumeFlags are the checkpoint flags of `sam train`.
type resumeFlags struct {
	every  int
	resume string
}

func (r *resumeFlags) register(fl *pflag.FlagSet) {
	fl.IntVar(&r.every, "checkpoint-every", 0, "every this many steps, write the full training state to OUT/"+train.CheckpointFile+" (atomically; it is also written on SIGTERM and SIGINT, and removed when the run finishes) (0 = only on a signal)")
	fl.StringVar(&r.resume, "resume", "", "continue the run whose checkpoint is in this folder (or file), bit for bit; its flags are the checkpoint's (others given must agree; only --threads, --quiet, --out, --save, --checkpoint-every, --data-dir may change)")
}

// safeFlags may change when a run resumes: they do not change what it computes.
var safeFlags = map[string]bool{"resume": true, "checkpoint-every": true, "threads": true, "quiet": true,
	"out": true, "save": true, "data-dir": true}

// testStepHook, when set (by tests only), runs after each training step.
var testStepHook func(step int)

// runArgs are the flags given on cmd's command line that define the run (not safeFlags), as
// --name=value in the order given: the checkpoint keeps them.
func runArgs(cmd *cobra.Command) []string {
	var args []string
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		if !safeFlags[fl.Name] {
			args = append(args, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	return args
}

// configFromArgs is the config that `sam train ARGS` would train.
func configFromArgs(args []string) (*train.Config, error) {
	var f trainFlags
	cmd := &cobra.Command{Use: "train"}
	f.register(cmd.Flags())
	if err := cmd.Flags().Parse(args); err != nil {
		return nil, err
	}
	c, err := f.config(cmd)
	if err != nil {
		return nil, err
	}
	c.SAM = fillFollowers(c.SAM)
	return c, nil
}

// runConfig is the run that the flags ask for, and the state it resumes from (nil for a new run).
// With --resume the config is the checkpoint's; every other flag given (but safeFlags) must
// leave it as it is, or the first that changes it is named.
func (f *trainFlags) runConfig(cmd *cobra.Command) (*train.Config, *train.TrainState, []string, error) {
	if f.ck.every < 0 {
		return nil, nil, nil, fmt.Errorf("--checkpoint-every: must be ≥ 0, got %d", f.ck.every)
	}
	args := runArgs(cmd)
	if f.ck.resume == "" {
		c, err := f.config(cmd)
		if err != nil {
			return nil, nil, nil, err
		}
		c.SAM = fillFollowers(c.SAM)
		return c, nil, args, nil
	}
	st, err := train.LoadTrainState(f.ck.resume)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--resume: %v", err)
	}
	saved := *st.Config
	saved.Model.Input, saved.Model.Outputs = nil, 0 // filled in from the data
	for _, a := range args {
		c, err := configFromArgs(append(append([]string(nil), st.Args...), a))
		if err != nil {
			return nil, nil, nil, err
		}
		if d := train.ConfigDiff(c, &saved); d != "" {
			name, _, _ := strings.Cut(a, "=")
			return nil, nil, nil, fmt.Errorf("--resume: %s changes the run (%s); give only --resume %s, or the run's own flags (--threads, --quiet, --out, --save, --checkpoint-every, --data-dir may change)", name, d, f.ck.resume)
		}
	}
	c := st.Config
	if cmd.Flags().Changed("data-dir") {
		c.DataDir = f.dataDir
	}
	return c, st, st.Args, nil
}

// checkNoCheckpoint refuses to start a new run over the checkpoint of an unfinished one in out
// (or, when resuming, over another run's checkpoint).
func checkNoCheckpoint(out string, st *train.TrainState) error {
	path := filepath.Join(out, train.CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if st != nil {
		if a, b := absPath(path), absPath(st.Path); a == b {
			return nil
		}
		return fmt.Errorf("--out %s holds the checkpoint of another unfinished run; resume into another --out, or delete %s", out, path)
	}
	return fmt.Errorf("--out %s holds the checkpoint of an unfinished run: continue it with --resume %s, or delete %s to start over", out, out, path)
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// resumeOut is the default --out of a resumed run: the checkpoint's folder.
func resumeOut(st *train.TrainState) string { return filepath.Dir(st.Path) }

// runOptions are the train.RunOptions of the flags.
func (f *trainFlags) runOptions(out string, obs train.Observer, st *train.TrainState, args []string, stderr io.Writer) train.RunOptions {
	if testStepHook != nil {
		inner := obs.Step
		obs.Step = func(step int, loss float64) {
			if inner != nil {
				inner(step, loss)
			}
			testStepHook(step)
		}
	}
	if st != nil && !f.quiet {
		fmt.Fprintf(stderr, "sam: resuming %s at step %d of %d\n", st.Path, st.Step, st.Total)
	}
	return train.RunOptions{Out: out, Save: f.save, Observer: obs, CheckpointEvery: f.ck.every, Resume: st, Args: args}
}

// stopped turns a run stopped by a signal into its message and exit status.
func stopped(err error, out string) error {
	if !errors.Is(err, train.ErrStopped) {
		return err
	}
	code := 1
	var sc signalCause
	if errors.As(err, &sc) {
		code = sc.exitCode()
	}
	return exitError{fmt.Errorf("%v; continue with: sam train --resume %s", err, out), code}
}
