package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/samgo/sam"
)

// The SAM family on the command line: every member's name, flags and help come from its
// registration in package sam (sam.Members), read here by `sam train`, `sam sweep` and
// `sam variants`, whose table README.md holds (TestREADMEVariants).

func newVariantsCmd(stdout io.Writer) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "variants",
		Short: "List the members of the SAM family (--variant), their settings and sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if markdown {
				fmt.Fprint(stdout, variantsMarkdown())
				return nil
			}
			for _, m := range sam.Members() {
				fmt.Fprintf(stdout, "%-8s %s (%s), %s passes per step: %s\n", m.Name, m.Title, m.Source, m.Passes, m.Summary)
				for _, p := range m.Params {
					fmt.Fprintf(stdout, "           --%s (default %s): %s\n", p.Name, paramDefault(p), p.Help)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the table README.md holds")
	return cmd
}

// variantsMarkdown is the members table of README.md.
func variantsMarkdown() string {
	var b strings.Builder
	b.WriteString("| --variant | member | rule | passes per step | settings (default) | source |\n|---|---|---|---|---|---|\n")
	for _, m := range sam.Members() {
		var ps []string
		for _, p := range m.Params {
			ps = append(ps, fmt.Sprintf("`--%s` (%s)", p.Name, paramDefault(p)))
		}
		if len(ps) == 0 {
			ps = []string{"—"}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", m.Name, m.Title, m.Summary, m.Passes, strings.Join(ps, ", "), m.Source)
	}
	return b.String()
}

func paramDefault(p sam.Param) string {
	if p.FollowsRho {
		return "--rho"
	}
	return strconv.FormatFloat(p.Default, 'g', -1, 64)
}

// memberList is the --variant help: every member with its source.
func memberList() string {
	var s []string
	for _, m := range sam.Members() {
		s = append(s, fmt.Sprintf("%s (%s)", m.Name, m.Source))
	}
	return strings.Join(s, ", ") + "; see sam variants"
}

// fillFollowers sets each setting of the member that follows ρ, and was not given, to ρ.
func fillFollowers(c sam.Config) sam.Config {
	m, ok := sam.Lookup(c.Variant)
	if !ok {
		return c
	}
	for _, p := range m.Params {
		if _, given := c.Params[p.Name]; p.FollowsRho && !given {
			c = c.With(p.Name, c.Rho)
		}
	}
	return c
}

// intValue is a whole-number flag kept in a float64 (a member's integer setting).
type intValue float64

func (v *intValue) String() string { return strconv.FormatFloat(float64(*v), 'g', -1, 64) }
func (v *intValue) Type() string   { return "int" }
func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || math.Abs(float64(n)) > 1<<53 {
		return fmt.Errorf("want a whole number, got %q", s)
	}
	*v = intValue(n)
	return nil
}
