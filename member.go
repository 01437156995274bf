package sam

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/samgo/sam/optim"
)

// Member describes one member of the SAM family: its name, paper, settings and step rule. It is
// the one place that the command line (flags, help), the sweep and the docs read; each member
// registers itself from its own file (member_*.go) with Register.
type Member struct {
	Name    string  // the --variant value, e.g. "gsam"; "sam" is also Config.Variant ""
	Title   string  // display name, e.g. "GSAM"
	Source  string  // the paper, e.g. "Zhuang et al., ICLR 2022"
	Summary string  // the rule in one line
	Passes  string  // forward-backward passes per step, e.g. "2" or "1 + 1/k"
	Params  []Param // the member's own settings, in flag order

	MSharpness bool // accepts --m (m-sharpness)
	Seeded     bool // draws random numbers: the command line and the sweep set Config.Seed to the run's seed
	RhoFree    bool // ρ = 0 does not reduce it to the base optimizer, so the core always calls its Rule

	// Check reports settings that are invalid together (each Param's own range is checked
	// already); nil when there are none.
	Check func(c Config) error
	// BaseCheck reports base optimizers that the member cannot work with (a one-line error
	// naming the flag); nil accepts every one. Callers that build the base optimizer from an
	// optim.Config (the training loop) call CheckBase.
	BaseCheck func(b optim.Config) error
	// New builds the member's rule for a validated config with its defaults filled in; it may
	// configure the perturbation p, which Step.Ascend uses.
	New func(c Config, p *Perturbation) Rule
}

// Param is a member's setting: a command-line flag --Name and a JSON key (dashes as underscores).
type Param struct {
	Name    string
	Default float64
	// Range is the interval of valid values in interval notation: "[0,1]", "(0,1]", "[1,inf)",
	// "(-inf,inf)"; bounds are numbers, "inf", or powers of two written "2^-16".
	Range string
	Int   bool   // whole numbers only
	Help  string // one line for --help
	// FollowsRho: the default is the run's ρ (and follows each trial's ρ in a sweep).
	FollowsRho bool
}

var registry = map[string]*Member{}

// CheckBase reports a base optimizer b that the member c.Variant cannot work with (see
// Member.BaseCheck); unknown members are Validate's to report.
func CheckBase(c Config, b optim.Config) error {
	if m, ok := Lookup(c.Variant); ok && m.BaseCheck != nil {
		return m.BaseCheck(b)
	}
	return nil
}

// Register adds m to the family. It panics on a duplicate name or flag, or a malformed Range:
// these are programmer errors, found when the package loads.
func Register(m *Member) {
	if _, dup := registry[m.Name]; dup || m.Name == "" || m.New == nil {
		panic(fmt.Sprintf("sam: Register(%q): duplicate, unnamed or without New", m.Name))
	}
	for _, p := range m.Params {
		if owner(p.Name) != nil || m.count(p.Name) > 1 {
			panic(fmt.Sprintf("sam: Register(%q): setting %q already belongs to another member", m.Name, p.Name))
		}
		if _, _, _, _, err := parseRange(p.Range); err != nil {
			panic(fmt.Sprintf("sam: Register(%q): setting %q: %v", m.Name, p.Name, err))
		}
	}
	registry[m.Name] = m
}

// Lookup returns the member named name ("" is "sam").
func Lookup(name string) (*Member, bool) {
	if name == "" {
		name = "sam"
	}
	m, ok := registry[name]
	return m, ok
}

// member returns a registered member; it panics for unknown names (Validate refuses them).
func member(name string) *Member {
	m, ok := Lookup(name)
	if !ok {
		panic(fmt.Sprintf("sam: unknown variant %q", name))
	}
	return m
}

// Members returns every member, "sam" first, then by name.
func Members() []*Member {
	var out []*Member
	for _, name := range Names() {
		out = append(out, registry[name])
	}
	return out
}

// Names returns the members' names, "sam" first, then in alphabetical order.
func Names() []string {
	var names []string
	for name := range registry {
		if name != "sam" {
			names = append(names, name)
		}
	}
	return append([]string{"sam"}, sorted(names)...)
}

func sorted(s []string) []string { slices.Sort(s); return s }

// owner returns the member that has the setting name, or nil.
func owner(name string) *Member {
	for _, m := range registry {
		if m.has(name) {
			return m
		}
	}
	return nil
}

func (m *Member) param(name string) (Param, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

func (m *Member) has(name string) bool { _, ok := m.param(name); return ok }

func (m *Member) count(name string) int {
	n := 0
	for _, p := range m.Params {
		if p.Name == name {
			n++
		}
	}
	return n
}

// check reports v outside the setting's range (or not whole for an integer setting) as a
// one-line error naming the flag.
func (p Param) check(v float64) error {
	lo, hi, loOpen, hiOpen, _ := parseRange(p.Range)
	in := !math.IsNaN(v) && (v > lo || !loOpen && v == lo) && (v < hi || !hiOpen && v == hi)
	if !in {
		return fmt.Errorf("--%s: must be in %s, got %g", p.Name, p.Range, v)
	}
	if p.Int && v != math.Trunc(v) {
		return fmt.Errorf("--%s: must be a whole number, got %g", p.Name, v)
	}
	return nil
}

func parseRange(r string) (lo, hi float64, loOpen, hiOpen bool, err error) {
	if len(r) < 5 || !strings.ContainsAny(r[:1], "[(") || !strings.ContainsAny(r[len(r)-1:], "])") {
		return 0, 0, false, false, fmt.Errorf("range %q: want [a,b], (a,b], [a,b) or (a,b)", r)
	}
	a, b, ok := strings.Cut(r[1:len(r)-1], ",")
	if !ok {
		return 0, 0, false, false, fmt.Errorf("range %q: want two bounds", r)
	}
	num := func(s string) (float64, error) {
		s = strings.TrimSpace(s)
		if e, ok := strings.CutPrefix(s, "2^"); ok {
			k, err := strconv.Atoi(e)
			return math.Ldexp(1, k), err
		}
		return strconv.ParseFloat(s, 64)
	}
	if lo, err = num(a); err == nil {
		hi, err = num(b)
	}
	return lo, hi, r[0] == '(', r[len(r)-1] == ')', err
}
