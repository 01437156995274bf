package sam_test

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/param"
)

// Shared checks that every registered member of the SAM family passes with its default
// settings, on a 6-parameter quadratic with a weight, a bias and a normalisation span and four
// examples (with the per-example view that ESAM's data selection needs). A new member gets them
// by registering; its own file's test adds its rule, its limit case and its hand-computed step.

func layout6() *param.Layout {
	var l param.Layout
	l.Add("w", param.Weight, 3)
	l.Add("b", param.Bias, 1)
	l.Add("n", param.Norm, 2)
	return &l
}

func quad6() *quadEx {
	q := newQuad([]float64{1, 4, 9, 2, 0.5, 3},
		[]float64{0.5, -0.2, 0.1, 0.3, -0.4, 0.2}, []float64{-0.3, 0.4, 0.2, -0.1, 0.1, 0.3},
		[]float64{0.1, 0.1, -0.3, 0.2, 0.2, -0.2}, []float64{0.2, -0.1, 0.0, -0.2, 0.3, 0.1})
	return &quadEx{q: q, n: 4}
}

func memberConfig(m *sam.Member) sam.Config { return sam.Config{Rho: 0.05, Variant: m.Name, Seed: 7} }

// steps runs o for n steps on the quadratic from w with a decaying learning rate from step t0.
func steps(t *testing.T, o *sam.Optimizer, w []float32, t0, n int) {
	t.Helper()
	ex := quad6()
	for s := t0; s < t0+n; s++ {
		if _, err := o.StepExamples(w, 4, ex.loss, ex, 0.05*math.Pow(0.999, float64(s))); err != nil {
			t.Fatal(err)
		}
	}
}

func newMember(t *testing.T, cfg sam.Config, base optim.Optimizer) *sam.Optimizer {
	t.Helper()
	o, err := sam.New(base, layout6(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var w6 = []float32{1.2, -0.8, 0.5, 0.3, -0.6, 0.9}

// TestMembersResume: saving the state after some steps and loading it into a new optimizer
// continues bit for bit, for every member, around SGD with momentum and Adam, also through JSON.
func TestMembersResume(t *testing.T) {
	bases := map[string]func() optim.Optimizer{
		"sgd":  func() optim.Optimizer { return &optim.SGD{Momentum: 0.9} },
		"adam": func() optim.Optimizer { return &optim.Adam{} },
	}
	for _, m := range sam.Members() {
		for bname, base := range bases {
			t.Run(m.Name+"/"+bname, func(t *testing.T) {
				cfg := memberConfig(m)
				ref := append([]float32(nil), w6...)
				steps(t, newMember(t, cfg, base()), ref, 0, 23)

				w := append([]float32(nil), w6...)
				o := newMember(t, cfg, base())
				steps(t, o, w, 0, 11)
				var st optim.State
				o.SaveState(&st, "opt.")
				js, err := json.Marshal(st)
				if err != nil {
					t.Fatal(err)
				}
				var back optim.State
				if err := json.Unmarshal(js, &back); err != nil {
					t.Fatal(err)
				}
				back.Vectors = st.Vectors
				o2 := newMember(t, cfg, base())
				if err := o2.LoadState(&back, "opt."); err != nil {
					t.Fatal(err)
				}
				steps(t, o2, w, 11, 12)
				if !reflect.DeepEqual(w, ref) {
					t.Fatalf("resumed %v, uninterrupted %v", w, ref)
				}
			})
		}
	}
}

// TestMembersConverge: every member reaches the quadratic's minimum (the mean of the centres).
func TestMembersConverge(t *testing.T) {
	for _, m := range sam.Members() {
		t.Run(m.Name, func(t *testing.T) {
			w := append([]float32(nil), w6...)
			steps(t, newMember(t, memberConfig(m), &optim.SGD{Momentum: 0.9}), w, 0, 3000)
			q := quad6().q
			for j := range w {
				var c float64
				for _, ci := range q.c {
					c += ci[j] / 4
				}
				if d := math.Abs(float64(w[j]) - c); d > 0.03 {
					t.Fatalf("w[%d] = %g, minimum at %g", j, w[j], c)
				}
			}
		})
	}
}

// TestMembersRhoZero: with ρ = 0 every member (but those whose Member.RhoFree says otherwise)
// is the base optimizer, one pass per step.
func TestMembersRhoZero(t *testing.T) {
	for _, m := range sam.Members() {
		if m.RhoFree {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			cfg := memberConfig(m)
			cfg.Rho = 0
			w, ref := append([]float32(nil), w6...), append([]float32(nil), w6...)
			o := newMember(t, cfg, &optim.SGD{Momentum: 0.9})
			base := &optim.SGD{Momentum: 0.9}
			ex := quad6()
			g := make([]float32, 6)
			for s := range 20 {
				ex.q.calls = nil
				if _, err := o.StepExamples(w, 4, ex.loss, ex, 0.05); err != nil {
					t.Fatal(err)
				}
				if len(ex.q.calls) != 1 {
					t.Fatalf("step %d took %d passes", s, len(ex.q.calls))
				}
				ex.loss(ref, g, 0, 4, false)
				base.Step(ref, g, 0.05)
			}
			if !reflect.DeepEqual(w, ref) {
				t.Fatalf("ρ = 0: %v, base optimizer %v", w, ref)
			}
		})
	}
}

// TestMembersNonFinite: a NaN loss leaves the weights as they were, for every member.
func TestMembersNonFinite(t *testing.T) {
	for _, m := range sam.Members() {
		t.Run(m.Name, func(t *testing.T) {
			o := newMember(t, memberConfig(m), &optim.SGD{})
			w := append([]float32(nil), w6...)
			ex := quad6()
			bad := func(w, g []float32, lo, hi int, second bool) float64 {
				ex.loss(w, g, lo, hi, second)
				g[0] = float32(math.NaN())
				return math.NaN()
			}
			if _, err := o.StepExamples(w, 4, bad, ex, 0.1); err == nil {
				t.Fatal("no error for a NaN loss")
			}
			if !reflect.DeepEqual(w, w6) {
				t.Fatalf("weights changed to %v", w)
			}
		})
	}
}

// TestMembersSettings: each setting's default is valid, values outside its range are refused
// with an error naming the flag, and the config survives JSON.
func TestMembersSettings(t *testing.T) {
	for _, m := range sam.Members() {
		if m.Title == "" || m.Source == "" || m.Summary == "" || m.Passes == "" {
			t.Errorf("%s: Title, Source, Summary and Passes must be set", m.Name)
		}
		cfg := memberConfig(m)
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s defaults: %v", m.Name, err)
		}
		for _, p := range m.Params {
			for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				err := cfg.With(p.Name, v).Validate()
				if p.Range == "(-inf,inf)" && !math.IsNaN(v) {
					continue
				}
				if err == nil || !contains(err.Error(), "--"+p.Name) {
					t.Errorf("%s: --%s %g gave %v", m.Name, p.Name, v, err)
				}
			}
			if p.Int {
				if err := cfg.With(p.Name, p.Default+0.5).Validate(); err == nil {
					t.Errorf("%s: --%s %g accepted", m.Name, p.Name, p.Default+0.5)
				}
			}
			c := cfg.With(p.Name, p.Default)
			js, _ := json.Marshal(c)
			var back sam.Config
			if err := json.Unmarshal(js, &back); err != nil || back.Param(p.Name) != p.Default {
				t.Errorf("%s: %s came back as %+v (%v)", m.Name, js, back, err)
			}
		}
	}
	if err := (sam.Config{Rho: 0.1, Params: map[string]float64{"looksam-k": 3}}).Validate(); err == nil ||
		!contains(err.Error(), "--looksam-k: only applies to --variant looksam") {
		t.Errorf("a setting of another member: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
