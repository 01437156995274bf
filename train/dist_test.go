package train

import (
	"math"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
)

// maxRel is the largest difference of a and b relative to b's largest magnitude.
func maxRel(a, b []float32) float64 {
	if len(b) == 0 {
		return 0
	}
	var d, m float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	return d / m
}

// distDigits is a short digits run; resnet selects the BatchNorm ResNet, else a ReLU MLP.
func distDigits(resnet bool) *Config {
	c := &Config{Data: "digits", Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "mlp", Hidden: []int{32}, Activation: "relu", Loss: "ce"},
		Optimizer: optim.Config{Name: "sgd", Momentum: 0.9}, SAM: sam.Config{Rho: 0.05},
		LR: 0.05, Schedule: optim.Schedule{Kind: "cosine"}, BatchSize: 64, Steps: 12, Seed: 3,
		ValFraction: 0.1, TestFraction: 0.2, Standardize: true}
	if resnet {
		c.Model = nn.Spec{Model: "resnet", Width: 1, Blocks: 1, Loss: "ce"}
		c.Steps = 4
	}
	return c
}

// buffers is m's BatchNorm running statistics, end to end (nil without BatchNorm).
func buffers(m *nn.Model) []float32 {
	var v []float32
	for _, b := range m.Buffers() {
		v = append(v, b.Data...)
	}
	return v
}

func runConfig(t *testing.T, c *Config) *Result {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := Prepare(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(c, d, "", "", Observer{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestAccum: --accum 4 --accum-eps global takes the un-accumulated step (to rounding), and
// --accum 4 --accum-eps local the step of --m batch/4, on the MLP and the BatchNorm ResNet
// (whose global accumulation is the un-accumulated step with --bn-ghost-batch batch/4: the
// same weights and running statistics).
func TestAccum(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resnet bool
		mode   string
		rho    float64
		ref    func(c *Config)
		tol    float64
	}{
		{"mlp/global", false, EpsGlobal, 0.05, func(c *Config) {}, 1e-5},
		{"mlp/global/rho0", false, EpsGlobal, 0, func(c *Config) {}, 1e-5},
		{"mlp/local", false, EpsLocal, 0.05, func(c *Config) { c.SAM.M = 16 }, 1e-5},
		{"resnet/local", true, EpsLocal, 0.05, func(c *Config) { c.SAM.M = 16 }, 1e-5},
		{"resnet/global", true, EpsGlobal, 0.05, func(c *Config) { c.BNGhost = 16 }, 1e-5},
		{"resnet/global/rho0", true, EpsGlobal, 0, func(c *Config) { c.BNGhost = 16 }, 1e-5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.resnet && testing.Short() {
				t.Skip("resnet: -short")
			}
			c := distDigits(tc.resnet)
			c.SAM.Rho = tc.rho
			c.Accum, c.AccumEps = 4, tc.mode
			got := runConfig(t, c)
			c2 := distDigits(tc.resnet)
			c2.SAM.Rho = tc.rho
			tc.ref(c2)
			want := runConfig(t, c2)
			rel := maxRel(got.Weights, want.Weights)
			brel := maxRel(buffers(got.Model), buffers(want.Model))
			t.Logf("%s: max relative difference %.3g (weights), %.3g (running statistics) after %d steps", tc.name, rel, brel, got.Summary.Steps)
			if rel > tc.tol || brel > tc.tol {
				t.Fatalf("max relative difference %.3g (weights), %.3g (running statistics) > %g", rel, brel, tc.tol)
			}
			if tc.name == "resnet/global" { // without ghost batches the step is another one
				c3 := distDigits(true)
				plain := runConfig(t, c3)
				if rel := maxRel(got.Weights, plain.Weights); rel < 1e-4 {
					t.Fatalf("max relative difference %.3g to the step without ghost batches: the test cannot tell", rel)
				}
			}
			if got.Summary.Config.Accum != 4 || got.Summary.Config.AccumEps != tc.mode {
				t.Fatalf("summary records accum %d %q", got.Summary.Config.Accum, got.Summary.Config.AccumEps)
			}
		})
	}
}

// TestAccumDropoutRho0: with ρ = 0 accumulation is one pass per micro-batch, and the dropout
// masks are drawn in the same order as for the whole batch.
func TestAccumDropoutRho0(t *testing.T) {
	c := distDigits(false)
	c.SAM.Rho, c.Model.Dropout, c.Accum = 0, 0.2, 4
	got := runConfig(t, c)
	c2 := distDigits(false)
	c2.SAM.Rho, c2.Model.Dropout = 0, 0.2
	want := runConfig(t, c2)
	if rel := maxRel(got.Weights, want.Weights); rel > 1e-5 {
		t.Fatalf("max relative difference %.3g", rel)
	}
}

// TestParallelRefused: combinations that would not be what they say are refused in one line
// naming the flag.
func TestParallelRefused(t *testing.T) {
	for _, tc := range []struct {
		mutate func(c *Config)
		want   string
	}{
		{func(c *Config) { c.BNGhost = 8 }, "--bn-ghost-batch: --model mlp has no BatchNorm"},
		{func(c *Config) { *c = *distDigits(true); c.BNGhost = -1 }, "--bn-ghost-batch: must be ≥ 0"},
		{func(c *Config) { *c = *distDigits(true); c.BNGhost = 12 }, "--bn-ghost-batch: 12 does not divide the per-rank micro-batch of 64"},
		{func(c *Config) { *c = *distDigits(true); c.BNGhost, c.Accum = 8, 16 }, "--bn-ghost-batch: 8 does not divide the per-rank micro-batch of 4"},
		{func(c *Config) { *c = *distDigits(true); c.BNGhost, c.SAM.M = 8, 12 }, "--bn-ghost-batch: 8 does not divide --m 12"},
		{func(c *Config) { c.Model.Dropout = 0.1; c.Accum = 4 }, "--accum-eps global: the second pass"},
		{func(c *Config) { c.Accum, c.AccumEps = 4, EpsLocal; c.SAM.M = 8 }, "--accum-eps local: sets --m"},
		{func(c *Config) { c.Accum = 5 }, "--accum: the per-rank batch 64"},
		{func(c *Config) { c.AccumEps = EpsLocal }, "--accum-eps: applies with --accum"},
		{func(c *Config) { c.Accum, c.AccumEps = 2, "everywhere" }, "--accum-eps: want local or global"},
		{func(c *Config) { c.DistEps = EpsGlobal }, "--dist-eps: applies to data-parallel runs only"},
		{func(c *Config) {
			c.SAM.Variant = "gsam"
			c.SAM = c.SAM.With("gsam-alpha", 0.1)
			c.Accum, c.AccumEps = 2, EpsLocal
		}, "--accum-eps local: is m-sharpness"},
		{func(c *Config) {
			c.SAM.Variant = "esam"
			c.SAM = c.SAM.With("esam-beta", 0.6).With("esam-gamma", 0.5)
			c.Accum = 2
		}, "--accum: esam's data selection"},
	} {
		c := distDigits(false)
		tc.mutate(c)
		err := c.Validate()
		if err == nil {
			var d *Data
			if d, err = Prepare(c); err == nil {
				err = CheckParallel(c, d)
			}
		}
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want an error starting %q, got %v", tc.want, err)
		}
	}
}
