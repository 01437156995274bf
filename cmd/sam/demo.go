package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/demo/flatness"
)

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Small self-contained demonstrations of what SAM does",
		Long: `Small self-contained demonstrations that write figures, numbers and a report.

Demos:
  flatness   the seed's sharp-versus-flat-minima example in one dimension: empirical losses,
             the SAM objective for several ρ, and where gradient descent and SAM end up`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newFlatnessCmd(stdout, stderr))
	return cmd
}

func newFlatnessCmd(stdout, stderr io.Writer) *cobra.Command {
	c := flatness.DefaultConfig()
	var out string
	cmd := &cobra.Command{
		Use:   "flatness",
		Short: "Sharp versus flat minima in 1-D: empirical.png, sam_objective.png, trajectories.png, summary.json, report.md",
		Long: `Reproduce the seed's stylised argument with real numbers. A 1-D loss l(w, x) (a wide quadratic
bowl with a narrow notch on its left wall, shifted by an example x ~ N(0, τ²)) has a population
loss with a sharp and a flat minimum. The demo draws --draws empirical losses of --samples
examples each and writes to --out:

  empirical.png      population loss, the empirical losses, and the population loss at each
                     empirical loss's sharp (red) and flat (blue) minimum
  sam_objective.png  L_S^SAM(w) = max_{|ε|≤ρ} L_S(w+ε) for several ρ, exact and first-order
  trajectories.png   where gradient descent and SAM (--rho) end from --starts random points
  summary.json       the numbers
  report.md          the figures with a paragraph each

Deterministic for a --seed; runs in about a second.`,
		Example: `  sam demo flatness --out runs/flatness
  sam demo flatness --out runs/flatness-s7 --seed 7 --samples 50`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usage(fmt.Errorf("--out: required (the directory for the figures and report)"))
			}
			if err := c.Validate(); err != nil {
				return usage(err)
			}
			if st, err := os.Stat(out); err == nil && !st.IsDir() {
				return usage(fmt.Errorf("--out: %s exists and is not a directory", out))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return usage(fmt.Errorf("--out: %v", err))
			}
			if err := checkWritable(out); err != nil {
				return usage(fmt.Errorf("--out: %s is not writable: %v", out, err))
			}
			res, err := flatness.Run(c)
			if err != nil {
				return err
			}
			if err := res.Write(out); err != nil {
				return err
			}
			fmt.Fprint(stdout, res.Text())
			fmt.Fprintf(stdout, "outputs in %s: report.md, summary.json, %s, %s, %s\n", out, flatness.Figures[0], flatness.Figures[1], flatness.Figures[2])
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&out, "out", "", "output directory (created if needed)")
	fl.Uint64Var(&c.Seed, "seed", c.Seed, "random seed of the samples and the starting points")
	fl.IntVar(&c.Samples, "samples", c.Samples, "examples N per empirical loss")
	fl.IntVar(&c.Draws, "draws", c.Draws, "number of empirical losses drawn")
	fl.Float64Var(&c.Rho, "rho", c.Rho, "SAM's ρ for the trajectories (0 makes SAM plain gradient descent)")
	fl.IntVar(&c.Starts, "starts", c.Starts, "random starting points of gradient descent and SAM")
	return cmd
}

// checkWritable creates and removes a temporary file in dir.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".sam-write-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(filepath.Clean(name))
}
