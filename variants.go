package sam

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/samgo/sam/tensor"
)

// Variants holds the settings of SAM's variants (see ../shared/reference/SAM.md, "Variants").
// Zero values are literal except where a field says otherwise.
type Variants struct {
	// GSAM (Zhuang et al., ICLR 2022): update with g_p − α·g_⊥, where g_⊥ is the part of the
	// gradient at w orthogonal to g_p = ∇L(w+ε); ρ follows the learning rate from RhoMin at
	// LRMin up to Rho at LRMax (constant Rho when LRMax = LRMin).
	GSAMAlpha float64 `json:"gsam_alpha,omitempty"`
	RhoMin    float64 `json:"rho_min,omitempty"`
	LRMax     float64 `json:"lr_max,omitempty"`
	LRMin     float64 `json:"lr_min,omitempty"`
	// LookSAM (Liu et al., CVPR 2022): full SAM every LookSAMK-th step (0 means 5), otherwise
	// one pass and the update g + α·(‖g‖/‖g_v‖)·g_v with the g_v kept from the last SAM step.
	LookSAMK     int     `json:"looksam_k,omitempty"`
	LookSAMAlpha float64 `json:"looksam_alpha,omitempty"`
	// ESAM (Du et al., ICLR 2022). Stochastic weight perturbation: each coordinate of ε is kept
	// with probability ESAMBeta (0 means 0.6; rounded to a multiple of 2⁻¹⁶) and scaled by 1/β,
	// drawn from Seed. Sharpness-sensitive data selection: the gradient at w+ε is taken on the
	// ⌈γn⌉ examples whose loss rose most from w to w+ε, γ = ESAMGamma (0 means 0.5; 1 keeps all
	// examples and needs no per-example losses).
	ESAMBeta  float64 `json:"esam_beta,omitempty"`
	ESAMGamma float64 `json:"esam_gamma,omitempty"`
	Seed      uint64  `json:"seed,omitempty"`
}

func (c Config) validateVariant() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch c.Variant {
	case "", "sam", "usam", "samon":
	case "gsam":
		switch {
		case bad(c.GSAMAlpha):
			return fmt.Errorf("--gsam-alpha: must be a finite number, got %g", c.GSAMAlpha)
		case bad(c.RhoMin) || c.RhoMin < 0 || c.RhoMin > c.Rho:
			return fmt.Errorf("--rho-min: must be in [0, --rho], got %g", c.RhoMin)
		case bad(c.LRMax) || bad(c.LRMin) || c.LRMin < 0 || c.LRMax < c.LRMin:
			return fmt.Errorf("gsam: invalid learning-rate range [%g, %g]", c.LRMin, c.LRMax)
		}
	case "looksam":
		switch {
		case c.LookSAMK < 0:
			return fmt.Errorf("--looksam-k: must be ≥ 1, got %d", c.LookSAMK)
		case bad(c.LookSAMAlpha) || c.LookSAMAlpha < 0:
			return fmt.Errorf("--looksam-alpha: must be ≥ 0, got %g", c.LookSAMAlpha)
		}
	case "esam":
		switch {
		case !(c.ESAMBeta == 0 || c.ESAMBeta >= 1.0/65536 && c.ESAMBeta <= 1):
			return fmt.Errorf("--esam-beta: must be in [2⁻¹⁶, 1], got %g", c.ESAMBeta)
		case !(c.ESAMGamma >= 0 && c.ESAMGamma <= 1):
			return fmt.Errorf("--esam-gamma: must be in (0,1], got %g", c.ESAMGamma)
		case c.ESAMGamma != 1 && c.AscentSteps > 1:
			return fmt.Errorf("--ascent-steps: esam's data selection (--esam-gamma < 1) takes one ascent step")
		}
	default:
		return fmt.Errorf("--variant: unknown variant %q (want sam, usam, gsam, looksam, esam or samon)", c.Variant)
	}
	if c.Variant == "usam" && c.P != 0 && c.P != 2 {
		return fmt.Errorf("--p: usam's unnormalised ε = ρ·g has no p; leave p = 2")
	}
	if c.M > 0 && c.Variant != "" && c.Variant != "sam" {
		return fmt.Errorf("--m: m-sharpness applies to --variant sam only")
	}
	return nil
}

// variantState is what the variants keep between steps.
type variantState struct {
	step   int     // LookSAM: steps taken
	haveGV bool    // LookSAM: g_v holds a direction from a SAM step
	normGV float64 // LookSAM: ‖g_v‖

	bern          *tensor.Bernoulli // ESAM (β < 1): the stream of weight-perturbation masks
	mask          []float32         // ESAM (β < 1): this step's mask, 0 or 1/β per coordinate
	before, after []float32         // ESAM (γ < 1): per-example losses at w and at w+ε
	rank          []int             // ESAM (γ < 1): examples, by how much their loss rose
}

func (o *Optimizer) initVariant() {
	switch o.cfg.Variant {
	case "looksam":
		if o.cfg.LookSAMK == 0 {
			o.cfg.LookSAMK = 5
		}
		o.acc = make([]float32, len(o.g))
	case "gsam":
		o.acc = make([]float32, len(o.g))
		if o.wp == nil {
			o.wp = make([]float32, len(o.g))
		}
	case "esam":
		if o.cfg.ESAMBeta == 0 {
			o.cfg.ESAMBeta = 0.6
		}
		if o.cfg.ESAMGamma == 0 {
			o.cfg.ESAMGamma = 0.5
		}
		if o.cfg.ESAMBeta < 1 {
			o.bern = tensor.NewBernoulli(o.cfg.ESAMBeta, o.cfg.Seed)
			o.mask = make([]float32, len(o.g))
		}
	}
}

// keep applies ESAM's weight-perturbation mask to coordinate i of ε (identity otherwise).
func (o *Optimizer) keep(e float32, i int) float32 {
	if o.mask == nil {
		return e
	}
	return e * o.mask[i]
}

// esam: ESAM's sharpness-sensitive data selection. The first pass at w, ε as SAM's (with the
// weight-perturbation mask), the per-example losses at w+ε, then the gradient at w+ε of the mean
// loss over the ⌈γn⌉ examples whose loss rose most (ties: the earlier example).
func (o *Optimizer) esam(w []float32, n int, loss Loss, ex Examples) (float64, []float32) {
	if ex == nil {
		panic("sam: esam with --esam-gamma < 1 needs per-example losses: call StepExamples")
	}
	l := loss(w, o.g, 0, n, false)
	o.before, o.after = grow(o.before, n), grow(o.after, n)
	ex.Losses(o.before)
	o.perturb(o.wp, w, w, o.g, o.cfg.Rho)
	ex.Forward(o.wp)
	ex.Losses(o.after)
	o.rank = o.rank[:0]
	for i := range n {
		o.rank = append(o.rank, i)
	}
	slices.SortStableFunc(o.rank, func(i, j int) int {
		return cmp.Compare(o.after[j]-o.before[j], o.after[i]-o.before[i])
	})
	k := min(n, max(1, int(math.Ceil(o.cfg.ESAMGamma*float64(n)-1e-9))))
	sel := o.rank[:k]
	slices.Sort(sel)
	ex.Backward(o.wp, o.g, sel)
	return l, o.g
}

func grow(v []float32, n int) []float32 {
	if cap(v) < n {
		return make([]float32, n)
	}
	return v[:n]
}

// gsam: g at w, g_p at w+ε with ρ_t from the learning rate, update g_p − α·g_⊥ with
// g_⊥ = g − (g·g_p/‖g_p‖²)·g_p. α = 0 with constant ρ is SAM.
func (o *Optimizer) gsam(w []float32, n int, loss Loss, lr float64) (float64, []float32) {
	rho := o.cfg.Rho
	if c := o.cfg; c.LRMax > c.LRMin {
		rho = c.RhoMin + (c.Rho-c.RhoMin)*(lr-c.LRMin)/(c.LRMax-c.LRMin)
	}
	g, gp := o.acc, o.g
	l := loss(w, gp, 0, n, false)
	copy(g, gp)
	o.ascend(w, 0, n, loss, rho) // gp ← ∇L(w+ε)
	if o.cfg.GSAMAlpha == 0 {
		return l, gp
	}
	c, a := projection(g, gp), float32(o.cfg.GSAMAlpha)
	for i, x := range gp {
		gp[i] = x - a*(g[i]-c*x)
	}
	return l, gp
}

// lookSAM: every k-th step full SAM, keeping g_v = g_s − (g_s·g/‖g‖²)·g; in between one pass
// and g + α·(‖g‖/‖g_v‖)·g_v. k = 1 is SAM.
func (o *Optimizer) lookSAM(w []float32, n int, loss Loss) (float64, []float32) {
	g, gv := o.g, o.acc
	l := loss(w, g, 0, n, false)
	defer func() { o.step++ }()
	if o.step%o.cfg.LookSAMK == 0 || !o.haveGV {
		copy(gv, g)
		o.ascend(w, 0, n, loss, o.cfg.Rho) // g ← g_s
		if o.cfg.LookSAMK == 1 {
			return l, g
		}
		tensor.AddScaled(gv, g, -projection(g, gv), gv)
		o.haveGV, o.normGV = true, math.Sqrt(tensor.SumSq64(gv))
		return l, g
	}
	if nv := o.normGV; nv > 0 {
		tensor.Axpy(float32(o.cfg.LookSAMAlpha*math.Sqrt(tensor.SumSq64(g))/nv), gv, g)
	}
	return l, g
}

// projection returns a·b/‖b‖² (0 when b = 0), accumulated in float64: b scaled by it is the
// part of a along b, which GSAM and LookSAM remove to get the orthogonal part.
func projection(a, b []float32) float32 {
	bb := tensor.SumSq64(b)
	if bb == 0 {
		return 0
	}
	return float32(tensor.Dot64(a, b) / bb)
}
