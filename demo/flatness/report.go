package flatness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/samgo/sam/internal/atomic"
)

// Write writes summary.json, the three figures and report.md into dir (created if needed), each
// file atomically.
func (r *Result) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r.Summary, "", "  ")
	if err != nil {
		return err
	}
	if err := atomic.WriteBytes(filepath.Join(dir, "summary.json"), append(js, '\n')); err != nil {
		return err
	}
	for _, name := range Figures {
		b, err := r.PNG(name)
		if err != nil {
			return err
		}
		if err := atomic.WriteBytes(filepath.Join(dir, name), b); err != nil {
			return err
		}
	}
	return atomic.WriteBytes(filepath.Join(dir, "report.md"), []byte(r.Report()))
}

// Text is the short summary the command prints.
func (r *Result) Text() string {
	s := r.Summary
	var b strings.Builder
	fmt.Fprintf(&b, "population loss at the empirical minima (%d draws of N = %d):\n", r.Config.Draws, r.Config.Samples)
	fmt.Fprintf(&b, "  sharp: mean %.4f  std %.4f\n", s.Sharp.Mean, s.Sharp.Std)
	fmt.Fprintf(&b, "  flat:  mean %.4f  std %.4f\n", s.Flat.Mean, s.Flat.Std)
	fmt.Fprintf(&b, "L_S^SAM − L_S at the minima of the first empirical loss (exact):\n")
	for _, in := range s.SAMObjective {
		fmt.Fprintf(&b, "  ρ = %-5g sharp %+.4f  flat %+.4f\n", in.Rho, in.Sharp, in.Flat)
	}
	fmt.Fprintf(&b, "end in the flat basin (%d starts): GD %.0f%%, SAM (ρ = %g) %.0f%%\n",
		r.Config.Starts, 100*s.GDFlatFraction, r.Config.Rho, 100*s.SAMFlatFraction)
	fmt.Fprintf(&b, "mean population loss at the end: GD %.4f, SAM %.4f\n", s.GDPopulationLoss, s.SAMPopulationLoss)
	return b.String()
}

// Report is report.md.
func (r *Result) Report() string {
	c, s, p := r.Config, r.Summary, r.Config.Problem
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	f("# Sharp versus flat minima: the seed's example, with numbers\n\n")
	f("Regenerate with `sam demo flatness --seed %d --samples %d --draws %d --out DIR`.\n\n", c.Seed, c.Samples, c.Draws)
	f("## The problem\n\n")
	f("One parameter w. An example is a number x drawn from N(0, %g²); its loss is a wide quadratic bowl\n", p.Noise)
	f("(curvature %g, centre %g) with a narrow Gaussian notch (width %g, depth %g, centre %g) cut into its\n", p.K, p.FlatCenter, p.Width, p.Depth, p.SharpCenter)
	f("left wall, the whole profile shifted by x:\n\n")
	f("    l(w, x) = %g + (%g/2)·(w − x − %g)² − %g·exp(−(w − x + %g)² / (2·%g²))\n\n", p.Base, p.K, p.FlatCenter, p.Depth, -p.SharpCenter, p.Width)
	f("The population loss L_P(w) = E_x l(w, x) is the same profile smeared by the noise (closed form): it has a\n")
	f("sharp minimum at w = %.3f (L_P = %.4f) and a flat one at w = %.3f (L_P = %.4f), separated by a ridge at\n", r.PopSharp, s.PopulationSharp, r.PopFlat, s.PopulationFlat)
	f("w = %.3f. An empirical loss L_S is the mean of l over N = %d drawn examples, a random function of the sample.\n\n", r.PopRidge, c.Samples)

	f("## Empirical losses and where their minima land on the population loss\n\n![empirical](empirical.png)\n\n")
	f("Left: the population loss (black) and %d empirical losses (blue), each from its own sample of %d\n", c.Draws, c.Samples)
	f("examples. For each empirical loss we find its sharp minimum (lowest point left of the ridge) and its flat\n")
	f("minimum (right of it) and plot the *population* loss there: red for the sharp, blue for the flat. A sample\n")
	f("shifts an empirical loss sideways by about its mean x̄; the same shift costs much more population loss in\n")
	f("the narrow notch than in the wide bowl. Right: the same points. Population loss at the sharp minima:\n")
	f("mean %.4f, std %.4f; at the flat minima: mean %.4f, std %.4f — the sharp ones scatter %.0f× more.\n\n", s.Sharp.Mean, s.Sharp.Std, s.Flat.Mean, s.Flat.Std, s.Sharp.Std/s.Flat.Std)

	f("## The SAM objective\n\n![sam objective](sam_objective.png)\n\n")
	f("Left: L_S^SAM(w) = max_{|ε|≤ρ} L_S(w+ε) of the first empirical loss for several ρ, computed exactly (a\n")
	f("sliding maximum on a grid of spacing %.4g). It never lies below L_S and grows with ρ; it grows fast at the\n", (p.Hi-p.Lo)/float64(c.Grid))
	f("sharp minimum, whose neighbourhood climbs steeply, and slowly at the flat one. L_S^SAM − L_S at the minima:\n\n")
	f("| ρ | sharp minimum | flat minimum |\n|---|---|---|\n")
	for _, in := range s.SAMObjective {
		f("| %g | %.4f | %.4f |\n", in.Rho, in.Sharp, in.Flat)
	}
	f("\nRight: what SAM actually evaluates, the first-order approximation L_S(w + ρ·sign L_S'(w)) (in one\n")
	f("dimension SAM's ε = ρ·g/|g| is ±ρ). It jumps wherever L_S' changes sign: exactly at a minimum it equals\n")
	f("L_S, just beside it it reads the loss a distance ρ uphill. It tracks the exact maximum on the slopes but\n")
	f("not near the minima and the ridge, where the loss turns within ρ and the linear guess of the worst\n")
	f("direction is wrong.\n\n")

	f("## Where gradient descent and SAM end up\n\n![trajectories](trajectories.png)\n\n")
	f("From %d starting points drawn uniformly in [%g, %g], full-batch gradient descent and SAM (ρ = %g; both the\n", c.Starts, p.Lo, p.Hi, c.Rho)
	f("project's `sam` optimizer around plain SGD, ρ = 0 being exactly gradient descent) take %d steps of\n", c.Steps)
	f("learning rate %g on the first empirical loss; SAM's last %d steps use ρ = 0 (ρ annealed like a learning\n", c.LR, c.Anneal)
	f("rate). Left and middle: each run's path (w against step, log scale), red if it ends in the sharp basin,\n")
	f("blue if in the flat one (right of the ridge of L_S at w = %.3f). Right: the population loss at each end\n", s.Ridge)
	f("point. Gradient descent ends in the flat basin from %.0f%% of the starts, SAM from %.0f%%; the mean\n", 100*s.GDFlatFraction, 100*s.SAMFlatFraction)
	f("population loss at the end is %.4f for gradient descent and %.4f for SAM (%.4f for SAM just before ρ drops).\n\n", s.GDPopulationLoss, s.SAMPopulationLoss, s.SAMPopulationLossBeforeAnneal)
	f("Why these settings. The learning rate %g is small enough for gradient descent to settle in the notch\n", c.LR)
	f("(lr × its curvature < 2), so any difference comes from SAM's ε, which in one dimension is ±ρ. At the\n")
	f("bottom of the notch SAM takes the gradient at w ± ρ. ρ = %g is larger than the notch's half-width (minimum\n", c.Rho)
	f("to rim, %.2f here), so w + ρ lies on the bowl beyond the rim, whose slope leads to the flat minimum: SAM\n", s.Ridge-s.Sharp.W[0])
	f("walks out of the notch. In the bowl, w ± ρ stays on the bowl's own walls, which point back to its centre,\n")
	f("so SAM stays; for that ρ must stay below the distance from the ridge to the flat minimum (%.2f here), or\n", s.Flat.W[0]-s.Ridge)
	f("SAM's gradient at the flat minimum would be read inside the notch. A property of first-order SAM that the\n")
	f("middle panel shows: runs that leave the notch do not reach the flat minimum while ρ > 0. They come to rest\n")
	f("at w ≈ sharp minimum + ρ, where L_S slopes down towards the flat minimum (so ε = −ρ) and the ascent point\n")
	f("w − ρ is the bottom of the notch, whose gradient is zero. That point is inside the flat basin but up its\n")
	f("wall; once ρ drops to 0 gradient descent takes it down to the flat minimum.\n\n")
	f("## Numbers (summary.json)\n\n```json\n")
	js, _ := json.MarshalIndent(struct {
		Sharp           map[string]any `json:"sharp"`
		Flat            map[string]any `json:"flat"`
		SAMObjective    []Increase     `json:"sam_objective"`
		GDFlatFraction  float64        `json:"gd_flat_fraction"`
		SAMFlatFraction float64        `json:"sam_flat_fraction"`
	}{
		map[string]any{"population_loss": s.Sharp.PopulationLoss, "mean": s.Sharp.Mean, "std": s.Sharp.Std},
		map[string]any{"population_loss": s.Flat.PopulationLoss, "mean": s.Flat.Mean, "std": s.Flat.Std},
		s.SAMObjective, s.GDFlatFraction, s.SAMFlatFraction,
	}, "", "  ")
	f("%s\n```\n\nsummary.json also holds the minima's locations, the mean population loss reached, and the full configuration.\n", js)
	return b.String()
}
