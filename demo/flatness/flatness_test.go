package flatness

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// runCache shares Run results between tests (each run takes a few hundred milliseconds).
var runCache sync.Map

func run(t *testing.T, seed uint64) *Result {
	t.Helper()
	if r, ok := runCache.Load(seed); ok {
		return r.(*Result)
	}
	c := DefaultConfig()
	c.Seed = seed
	r, err := Run(c)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	runCache.Store(seed, r)
	return r
}

// TestAcceptance checks the seed's three claims in the numbers, on the default seed and others.
func TestAcceptance(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 7, 42} {
		t.Run("seed="+itoa(seed), func(t *testing.T) {
			s := run(t, seed).Summary
			if !(s.Sharp.Std > 5*s.Flat.Std) {
				t.Errorf("population loss at sharp minima: std %.3g, want > 5 × the flat minima's %.3g", s.Sharp.Std, s.Flat.Std)
			}
			if !(s.Sharp.Mean > s.Flat.Mean) {
				t.Errorf("mean population loss at sharp minima %.4f, want > flat %.4f", s.Sharp.Mean, s.Flat.Mean)
			}
			if len(s.SAMObjective) != len(DefaultConfig().Rhos)-1 {
				t.Fatalf("%d SAM-objective rows, want one per ρ > 0", len(s.SAMObjective))
			}
			for _, in := range s.SAMObjective {
				if !(in.Rho > 0 && in.Sharp > in.Flat && in.Flat > 0) {
					t.Errorf("ρ = %g: L^SAM − L_S is %.4f at the sharp minimum and %.4f at the flat one, want sharp > flat > 0", in.Rho, in.Sharp, in.Flat)
				}
			}
			if !(s.SAMFlatFraction > s.GDFlatFraction) {
				t.Errorf("flat-basin fraction: SAM %.2f, GD %.2f; want SAM > GD", s.SAMFlatFraction, s.GDFlatFraction)
			}
			if !(s.GDFlatFraction > 0 && s.GDFlatFraction < 1) {
				t.Errorf("GD flat fraction %.2f: want both basins reached", s.GDFlatFraction)
			}
			if !(s.SAMPopulationLoss < s.GDPopulationLoss) {
				t.Errorf("mean population loss at the end: SAM %.4f, GD %.4f; want SAM lower", s.SAMPopulationLoss, s.GDPopulationLoss)
			}
		})
	}
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// TestExactSAMObjective: on every grid point, L^SAM ≥ L_S, L^SAM is non-decreasing in ρ, and it is
// at least SAM's first-order value (the first-order point w ± ρ lies in the window).
func TestExactSAMObjective(t *testing.T) {
	for _, seed := range []uint64{1, 3} {
		r := run(t, seed)
		ls := r.Curves[0]
		for i, rho := range r.Config.Rhos {
			ex, fo := r.Exact[i], r.FirstOrder[i]
			if len(ex.W) != len(ls.W) || len(fo.W) != len(ls.W) {
				t.Fatalf("ρ = %g: %d / %d points, want %d", rho, len(ex.W), len(fo.W), len(ls.W))
			}
			for j := range ls.W {
				if math.Abs(ex.W[j]-ls.W[j]) > 1e-9 {
					t.Fatalf("ρ = %g: grid point %d at %g, want %g", rho, j, ex.W[j], ls.W[j])
				}
				if ex.F[j] < ls.F[j] {
					t.Fatalf("ρ = %g, w = %g: L^SAM %g < L_S %g", rho, ls.W[j], ex.F[j], ls.F[j])
				}
				if ex.F[j] < fo.F[j]-1e-9 {
					t.Fatalf("ρ = %g, w = %g: exact L^SAM %g below the first-order value %g", rho, ls.W[j], ex.F[j], fo.F[j])
				}
				if i > 0 && ex.F[j] < r.Exact[i-1].F[j] {
					t.Fatalf("w = %g: L^SAM decreases from ρ = %g to %g", ls.W[j], r.Config.Rhos[i-1], rho)
				}
			}
			if rho == 0 && !reflect.DeepEqual(ex.F, ls.F) {
				t.Fatal("ρ = 0: L^SAM differs from L_S")
			}
		}
	}
}

// TestExactSAMBruteForce compares the sliding maximum with a direct maximum over each window.
func TestExactSAMBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	g := Grid{Lo: 0, H: 0.1}
	for i := range 200 {
		g.W = append(g.W, float64(i)*0.1)
		g.F = append(g.F, rng.NormFloat64())
	}
	for _, tc := range []struct {
		rho  float64
		want int // points in the result
	}{{0, 200}, {0.1, 198}, {0.5, 190}, {2.0, 160}} {
		out := ExactSAM(g, tc.rho)
		if len(out.W) != tc.want {
			t.Fatalf("ρ = %g: %d points, want %d", tc.rho, len(out.W), tc.want)
		}
		r := (200 - tc.want) / 2
		for i := range out.W {
			best := math.Inf(-1)
			for j := i; j <= i+2*r; j++ {
				best = max(best, g.F[j])
			}
			if out.F[i] != best || out.W[i] != g.W[i+r] {
				t.Fatalf("ρ = %g, point %d: %g at %g, want %g at %g", tc.rho, i, out.F[i], out.W[i], best, g.W[i+r])
			}
		}
	}
}

// TestSAMIncrease: never negative, exact on a quadratic, and growing with ρ.
func TestSAMIncrease(t *testing.T) {
	q := func(w float64) float64 { return 3 * (w - 1) * (w - 1) }
	prev := 0.0
	for _, rho := range []float64{0, 0.01, 0.1, 0.3, 1} {
		got := SAMIncrease(q, 1, rho, 1000)
		if want := 3 * rho * rho; math.Abs(got-want) > 1e-12 {
			t.Errorf("ρ = %g: %g, want %g", rho, got, want)
		}
		if got < prev {
			t.Errorf("ρ = %g: %g < %g at the smaller ρ", rho, got, prev)
		}
		prev = got
	}
	if got := SAMIncrease(func(w float64) float64 { return -w * w }, 0, 0.5, 100); got != 0 {
		t.Errorf("at a maximum: %g, want 0", got)
	}
}

// TestPopulationClosedForm checks L_P against numerical integration of l(w, x) over N(0, τ²).
func TestPopulationClosedForm(t *testing.T) {
	p := DefaultProblem()
	for _, w := range []float64{-1, -0.4, -0.37, -0.2, 0, 0.4, 1.2} {
		const n = 20000
		var sum float64
		h := 16 * p.Noise / n
		for i := range n + 1 {
			x := -8*p.Noise + float64(i)*h
			l, _ := p.Example(w, x)
			d := math.Exp(-x*x/(2*p.Noise*p.Noise)) / (p.Noise * math.Sqrt(2*math.Pi))
			wt := 1.0
			if i == 0 || i == n {
				wt = 0.5
			}
			sum += wt * l * d * h
		}
		if got := p.Population(w); math.Abs(got-sum) > 1e-9 {
			t.Errorf("L_P(%g) = %.12f, numerical integral %.12f", w, got, sum)
		}
	}
}

// TestExampleGradient checks dl/dw against central differences.
func TestExampleGradient(t *testing.T) {
	p := DefaultProblem()
	for _, tc := range []struct{ w, x float64 }{{-0.4, 0}, {-0.35, 0.05}, {0, -0.1}, {0.4, 0.07}, {1.3, 0}} {
		_, d := p.Example(tc.w, tc.x)
		const h = 1e-6
		lp, _ := p.Example(tc.w+h, tc.x)
		lm, _ := p.Example(tc.w-h, tc.x)
		if fd := (lp - lm) / (2 * h); math.Abs(fd-d) > 1e-6*math.Max(1, math.Abs(d)) {
			t.Errorf("w = %g, x = %g: dl/dw = %g, finite difference %g", tc.w, tc.x, d, fd)
		}
	}
}

// TestMinima: the minima found are critical points of L_S on the right sides of the ridge, and
// gradient descent's learning rate is stable at the sharp minimum (lr × L_S” < 2), so that the
// GD-versus-SAM comparison is about ε and not about an unstable step size.
func TestMinima(t *testing.T) {
	r := run(t, 1)
	s := r.Summary
	for d, e := range r.Empirical {
		for _, m := range []struct {
			name string
			w    float64
			left bool
		}{{"sharp", s.Sharp.W[d], true}, {"flat", s.Flat.W[d], false}} {
			_, g := e.Grad(m.w)
			if math.Abs(g) > 1e-6 {
				t.Errorf("draw %d, %s minimum %g: L_S' = %g", d, m.name, m.w, g)
			}
			if (m.w < r.PopRidge) != m.left {
				t.Errorf("draw %d, %s minimum %g on the wrong side of the ridge %g", d, m.name, m.w, r.PopRidge)
			}
			const h = 1e-4
			curv := (e.Loss(m.w+h) - 2*e.Loss(m.w) + e.Loss(m.w-h)) / (h * h)
			if curv <= 0 {
				t.Errorf("draw %d, %s minimum: curvature %g", d, m.name, curv)
			}
			if m.left && r.Config.LR*curv >= 2 {
				t.Errorf("draw %d: lr × curvature at the sharp minimum = %g ≥ 2", d, r.Config.LR*curv)
			}
		}
		if s.PopulationSharp > s.Sharp.PopulationLoss[d]+1e-12 || s.PopulationFlat > s.Flat.PopulationLoss[d]+1e-12 {
			t.Errorf("draw %d: an empirical minimum has lower population loss than the population's own minimum", d)
		}
	}
	if a, b := s.PopulationSharp, s.PopulationFlat; math.Abs(a-b) > 0.02 {
		t.Errorf("population minima %g and %g: want similar depths", a, b)
	}
}

// TestTrain: ρ = 0 is plain gradient descent, and a SAM step is w − lr·L_S'(w + ρ·sign L_S'(w)).
func TestTrain(t *testing.T) {
	p := DefaultProblem()
	e := Empirical{P: p, X: p.Sample(rand.New(rand.NewPCG(1, 2)), 7)}
	for _, tc := range []struct {
		name         string
		w0, rho, lr  float64
		steps, rhoSt int
	}{
		{"gd", 0.9, 0, 0.02, 50, 50},
		{"sam", -0.3, 0.5, 0.02, 50, 50},
		{"sam then gd", -0.3, 0.5, 0.02, 50, 20},
		{"sam small rho", 0.1, 0.05, 0.01, 30, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, err := Train(e, tc.w0, tc.rho, tc.lr, tc.steps, tc.rhoSt)
			if err != nil {
				t.Fatal(err)
			}
			if len(path) != tc.steps+1 || path[0] != float64(float32(tc.w0)) {
				t.Fatalf("path of %d points from %g", len(path), path[0])
			}
			w := float32(tc.w0)
			for k := range tc.steps {
				_, g := e.Grad(float64(w))
				g = float64(float32(g))
				at := float64(w)
				if tc.rho > 0 && k < tc.rhoSt && g != 0 {
					at = float64(w + float32(tc.rho*g/(math.Abs(g)+1e-12)))
				}
				_, gs := e.Grad(at)
				w -= float32(tc.lr) * float32(gs)
				if math.Abs(float64(w)-path[k+1]) > 1e-6 {
					t.Fatalf("step %d: w = %g, want %g", k+1, path[k+1], w)
				}
			}
		})
	}
}

// TestDeterministic: the same config gives the same summary, another seed a different one.
func TestDeterministic(t *testing.T) {
	a := run(t, 1).Summary
	b, err := Run(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b.Summary) {
		t.Fatal("two runs with the same config differ")
	}
	if reflect.DeepEqual(a.Sharp.PopulationLoss, run(t, 2).Summary.Sharp.PopulationLoss) {
		t.Fatal("seeds 1 and 2 gave the same samples")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"samples 0", func(c *Config) { c.Samples = 0 }, "--samples"},
		{"negative samples", func(c *Config) { c.Samples = -5 }, "--samples"},
		{"draws 0", func(c *Config) { c.Draws = 0 }, "--draws"},
		{"starts 0", func(c *Config) { c.Starts = 0 }, "--starts"},
		{"negative rho", func(c *Config) { c.Rho = -0.1 }, "--rho"},
		{"nan rho", func(c *Config) { c.Rho = math.NaN() }, "--rho"},
		{"lr 0", func(c *Config) { c.LR = 0 }, "--lr"},
		{"steps 0", func(c *Config) { c.Steps = 0 }, "--steps"},
		{"anneal > steps", func(c *Config) { c.Anneal = c.Steps + 1 }, "anneal"},
		{"objective rho too big", func(c *Config) { c.Rhos = []float64{0, 5} }, "ρ"},
		{"no noise", func(c *Config) { c.Problem.Noise = 0 }, "noise"},
		{"wells swapped", func(c *Config) { c.Problem.SharpCenter = 1 }, "centre"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line mentioning %q", err, tc.want)
			}
			if _, err := Run(c); err == nil {
				t.Fatal("Run accepted an invalid config")
			}
		})
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestWrite checks the files: valid PNGs of a sensible size with drawn content (red and blue
// points in empirical.png), summary.json with the documented keys, report.md embedding the figures.
func TestWrite(t *testing.T) {
	r := run(t, 1)
	dir := filepath.Join(t.TempDir(), "out")
	if err := r.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range Figures {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sz := img.Bounds().Size()
		if sz.X < 1000 || sz.Y < 400 || sz.X > 4000 || sz.Y > 2000 {
			t.Errorf("%s: %v pixels", name, sz)
		}
		ink, reds, blues := census(img)
		if ink < 0.02 || ink > 0.5 {
			t.Errorf("%s: %.1f%% non-white pixels, want a drawn but not filled figure", name, 100*ink)
		}
		if name == "empirical.png" && (reds < 200 || blues < 200) {
			t.Errorf("%s: %d red and %d blue pixels, want the red and blue points", name, reds, blues)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sharp", "flat", "sam_objective", "gd_flat_fraction", "sam_flat_fraction"} {
		if _, ok := m[k]; !ok {
			t.Errorf("summary.json lacks %q", k)
		}
	}
	for _, k := range []string{"population_loss", "mean", "std"} {
		if _, ok := m["sharp"].(map[string]any)[k]; !ok {
			t.Errorf("summary.json sharp lacks %q", k)
		}
	}
	row := m["sam_objective"].([]any)[0].(map[string]any)
	for _, k := range []string{"rho", "sharp_increase", "flat_increase"} {
		if _, ok := row[k]; !ok {
			t.Errorf("summary.json sam_objective lacks %q", k)
		}
	}
	rep, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(empirical.png)", "(sam_objective.png)", "(trajectories.png)", "\"gd_flat_fraction\""} {
		if !bytes.Contains(rep, []byte(want)) {
			t.Errorf("report.md lacks %s", want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// census returns the fraction of non-white pixels and the counts of clearly red and blue ones.
func census(img image.Image) (ink float64, reds, blues int) {
	b := img.Bounds()
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r < 245 || g < 245 || bl < 245 {
				n++
			}
			if r > 180 && g < 80 && bl < 80 {
				reds++
			}
			if bl > 170 && r < 60 && g < 120 {
				blues++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy()), reds, blues
}
