package sam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"strings"
)

// Config holds SAM's settings. The zero value is the base optimizer alone (ρ = 0).
type Config struct {
	Rho      float64 `json:"rho"`                // neighbourhood radius ρ ≥ 0
	P        float64 `json:"p,omitempty"`        // norm p > 1 (0 means 2; +Inf allowed)
	Adaptive bool    `json:"adaptive,omitempty"` // ASAM: ε scaled by T = |w|+η on weights
	Eta      float64 `json:"eta,omitempty"`      // ASAM η (0 means 0.01)
	M        int     `json:"m,omitempty"`        // m-sharpness chunk size (0 = whole batch)
	L2       float64 `json:"l2,omitempty"`       // λ of (λ/2)‖w‖², weight spans only

	// Variant names the member of the SAM family (see Members); "" is SAM.
	Variant     string `json:"variant,omitempty"`
	AscentSteps int    `json:"ascent_steps,omitempty"` // k projected ascent steps (SAM paper App. C); 0 = 1

	// Params holds the member's own settings by flag name (e.g. "gsam-alpha"); a missing one
	// takes its default (Member.Params). In JSON they sit beside the other fields, with
	// underscores for dashes ("gsam_alpha").
	Params map[string]float64 `json:"-"`
	// Seed seeds the random numbers of a member that draws any (Member.Seeded).
	Seed uint64 `json:"seed,omitempty"`
	// LRMin and LRMax are the smallest and largest learning rates of the run, for members whose
	// settings follow the learning rate (GSAM's ρ). The training loop fills them in.
	LRMin float64 `json:"-"`
	LRMax float64 `json:"-"`
}

// Param returns the member's setting name: the value in Params, else its default.
// It panics if the member has no such setting (a programmer error).
func (c Config) Param(name string) float64 {
	if v, ok := c.Params[name]; ok {
		return v
	}
	for _, p := range member(c.Variant).Params {
		if p.Name == name {
			if p.FollowsRho {
				return c.Rho
			}
			return p.Default
		}
	}
	panic(fmt.Sprintf("sam: variant %q has no setting %q", c.Variant, name))
}

// With returns a copy of c with the member setting name set to v.
func (c Config) With(name string, v float64) Config {
	c = c.clone()
	if c.Params == nil {
		c.Params = map[string]float64{}
	}
	c.Params[name] = v
	return c
}

func (c Config) without(name string) Config {
	c = c.clone()
	delete(c.Params, name)
	return c
}

func (c Config) clone() Config {
	c.Params = maps.Clone(c.Params)
	return c
}

// withDefaults fills in the defaults: p = 2, η = 0.01, one ascent step, every member setting.
func (c Config) withDefaults() Config {
	c = c.clone()
	if c.P == 0 {
		c.P = 2
	}
	if c.Eta == 0 {
		c.Eta = 0.01
	}
	if c.AscentSteps == 0 {
		c.AscentSteps = 1
	}
	if ps := member(c.Variant).Params; len(ps) > 0 {
		full := make(map[string]float64, len(ps))
		for _, p := range ps {
			full[p.Name] = c.Param(p.Name)
		}
		c.Params = full
	}
	return c
}

// Validate reports the first invalid setting as a one-line error naming the flag.
func (c Config) Validate() error {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(c.Rho) || c.Rho < 0:
		return fmt.Errorf("--rho: must be a finite number ≥ 0, got %g", c.Rho)
	case math.IsNaN(c.P) || (c.P != 0 && c.P <= 1):
		return fmt.Errorf("--p: must be > 1 (or inf), got %g", c.P)
	case bad(c.Eta) || c.Eta < 0:
		return fmt.Errorf("--eta: must be a finite number ≥ 0, got %g", c.Eta)
	case c.M < 0:
		return fmt.Errorf("--m: must be ≥ 0 (0 = whole batch), got %d", c.M)
	case bad(c.L2) || c.L2 < 0:
		return fmt.Errorf("--l2: must be a finite number ≥ 0, got %g", c.L2)
	case c.AscentSteps < 0:
		return fmt.Errorf("--ascent-steps: must be ≥ 1, got %d", c.AscentSteps)
	case c.AscentSteps > 1 && c.P != 0 && c.P != 2 && !math.IsInf(c.P, 1):
		return fmt.Errorf("--ascent-steps: multi-step ascent supports p = 2 or inf, got p = %g", c.P)
	case bad(c.LRMin) || bad(c.LRMax) || c.LRMin < 0 || c.LRMax < c.LRMin:
		return fmt.Errorf("sam: invalid learning-rate range [%g, %g]", c.LRMin, c.LRMax)
	}
	m, ok := Lookup(c.Variant)
	if !ok {
		return fmt.Errorf("--variant: unknown variant %q (want %s)", c.Variant, strings.Join(Names(), ", "))
	}
	for name, v := range c.Params {
		p, ok := m.param(name)
		if !ok {
			if owner := owner(name); owner != nil {
				return fmt.Errorf("--%s: only applies to --variant %s", name, owner.Name)
			}
			return fmt.Errorf("sam: unknown setting %q", name)
		}
		if err := p.check(v); err != nil {
			return err
		}
	}
	if c.M > 0 && !m.MSharpness {
		return fmt.Errorf("--m: m-sharpness applies to --variant sam only")
	}
	if m.Check != nil {
		return m.Check(c)
	}
	return nil
}

// MarshalJSON writes the config with p = ∞ as the string "inf" (JSON has no infinity) and the
// member's settings beside the other fields, in the member's order.
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	put := func(key string, v any) {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		js, err := json.Marshal(v)
		if err != nil { // Validate refuses what JSON cannot hold
			js = []byte("null")
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(js)
	}
	put("rho", c.Rho)
	if c.Adaptive {
		put("adaptive", true)
	}
	if c.Eta != 0 {
		put("eta", c.Eta)
	}
	if c.M != 0 {
		put("m", c.M)
	}
	if c.L2 != 0 {
		put("l2", c.L2)
	}
	if c.Variant != "" {
		put("variant", c.Variant)
	}
	if c.AscentSteps != 0 {
		put("ascent_steps", c.AscentSteps)
	}
	m, _ := Lookup(c.Variant)
	var rest []string
	if m != nil {
		for _, p := range m.Params {
			// A zero that a missing key also gives is left out, as the code before the
			// registry did (omitempty), so that the sweep's trial ids stay as they were.
			if v, ok := c.Params[p.Name]; ok && (v != 0 || c.without(p.Name).Param(p.Name) != 0) {
				put(jsonKey(p.Name), v)
			}
		}
	}
	for name := range c.Params {
		if m == nil || !m.has(name) {
			rest = append(rest, name)
		}
	}
	for _, name := range sorted(rest) {
		put(jsonKey(name), c.Params[name])
	}
	if c.Seed != 0 {
		put("seed", c.Seed)
	}
	switch {
	case math.IsInf(c.P, 1):
		put("p", "inf")
	case c.P != 0:
		put("p", c.P)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes; keys it does not know are ignored.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config
	aux := struct {
		*plain
		P any `json:"p,omitempty"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	switch p := aux.P.(type) {
	case nil:
		c.P = 0
	case float64:
		c.P = p
	case string:
		if p != "inf" {
			return fmt.Errorf("sam: config p %q is not a number or \"inf\"", p)
		}
		c.P = math.Inf(1)
	default:
		return fmt.Errorf("sam: config p has type %T", p)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	c.Params = nil
	for key, v := range raw {
		name := strings.ReplaceAll(key, "_", "-")
		if owner(name) == nil {
			continue
		}
		var x float64
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("sam: config %s: %w", key, err)
		}
		if c.Params == nil {
			c.Params = map[string]float64{}
		}
		c.Params[name] = x
	}
	return nil
}

func jsonKey(flag string) string { return strings.ReplaceAll(flag, "-", "_") }
