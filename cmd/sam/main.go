// Command sam trains models with Sharpness-Aware Minimization.
//
//	sam train --data mnist --model mlp --hidden 256,256 --rho 0.05 --epochs 2 --out runs/mnist
//
// Run `sam train --help` for every flag.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signalContext() // SIGINT and SIGTERM: see signals.go
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	closeWorld()
	os.Exit(code)
}

// usageError marks bad input (flags, data files): exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// run executes the command line and returns the process exit status: 0 on success, 2 for bad
// input (with a one-line message), 1 when a run fails (for example a diverging loss), 128 + the
// signal's number when SIGINT or SIGTERM stopped training (130, 143) after writing its checkpoint.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := &cobra.Command{
		Use:   "sam",
		Short: "Train models with Sharpness-Aware Minimization (SAM)",
		Long: `sam trains neural networks with Sharpness-Aware Minimization (Foret et al., ICLR 2021):
each step moves to the worst point w+ε within radius ρ of the weights and descends with the
gradient taken there, which steers training toward flat minima that generalise better.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usage(err) })
	root.AddCommand(newTrainCmd(stdout, stderr))
	root.AddCommand(newDemoCmd(stdout, stderr))
	root.AddCommand(newSharpnessCmd(stdout, stderr))
	root.AddCommand(newLandscapeCmd(stdout, stderr))
	root.AddCommand(newBenchCmd(stdout, stderr))
	root.AddCommand(newSweepCmd(stdout, stderr))
	root.AddCommand(newVariantsCmd(stdout))
	root.AddCommand(newEvalCmd(stdout, stderr))
	root.AddCommand(newPredictCmd(stdout, stderr))
	root.AddCommand(newConnectCmd(stdout, stderr))
	root.AddCommand(newTrajectoryCmd(stdout, stderr))
	root.AddCommand(newUICmd(stdout, stderr))
	root.CompletionOptions.DisableDefaultCmd = true
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(stderr, "sam: %s\n", msg)
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return 2
	}
	return 1
}

// isCobraUsage recognises cobra's own argument errors (unknown command, bad arguments).
func isCobraUsage(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.Contains(s, "accepts ") || strings.HasPrefix(s, "invalid argument")
}
