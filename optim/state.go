package optim

import (
	"fmt"
	"slices"
)

// State is what an optimizer keeps between steps, as named vectors and numbers, so that a
// checkpoint can hold it and a resumed run continues bit for bit. Each owner names its entries
// under a prefix that its caller gives ("base." for SAM's base optimizer, say).
type State struct {
	Vectors map[string][]float32 `json:"-"`                 // stored as tensors
	Numbers map[string]float64   `json:"numbers,omitempty"` // counters and scalars
	Words   map[string]uint64    `json:"words,omitempty"`   // exact 64-bit words (random-number state)
}

// Stateful is implemented by optimizers, and by SAM's members, that keep state between steps.
type Stateful interface {
	// SaveState puts the state into s under names that start with prefix (copies, not views).
	SaveState(s *State, prefix string)
	// LoadState restores what SaveState put; an error names a missing or mis-sized entry.
	LoadState(s *State, prefix string) error
}

// PutVector stores a copy of v as name (nil is stored as absent).
func (s *State) PutVector(name string, v []float32) {
	if v == nil {
		return
	}
	if s.Vectors == nil {
		s.Vectors = map[string][]float32{}
	}
	s.Vectors[name] = slices.Clone(v)
}

// Vector returns the vector name, or nil when absent; it must have n elements.
func (s *State) Vector(name string, n int) ([]float32, error) {
	v, ok := s.Vectors[name]
	if !ok {
		return nil, nil
	}
	if len(v) != n {
		return nil, fmt.Errorf("optim: state %s has %d elements, want %d", name, len(v), n)
	}
	return slices.Clone(v), nil
}

// PutNumber stores x as name.
func (s *State) PutNumber(name string, x float64) {
	if s.Numbers == nil {
		s.Numbers = map[string]float64{}
	}
	s.Numbers[name] = x
}

// Number returns the number name; it must be present.
func (s *State) Number(name string) (float64, error) {
	x, ok := s.Numbers[name]
	if !ok {
		return 0, fmt.Errorf("optim: state has no %s", name)
	}
	return x, nil
}

// PutWord stores the 64-bit word x as name.
func (s *State) PutWord(name string, x uint64) {
	if s.Words == nil {
		s.Words = map[string]uint64{}
	}
	s.Words[name] = x
}

// Word returns the word name; it must be present.
func (s *State) Word(name string) (uint64, error) {
	x, ok := s.Words[name]
	if !ok {
		return 0, fmt.Errorf("optim: state has no %s", name)
	}
	return x, nil
}

var (
	_ Stateful = (*SGD)(nil)
	_ Stateful = (*Adam)(nil)
	_ Stateful = (*Clip)(nil)
)

// SaveState implements Stateful: the momentum buffer, once there is one.
func (o *SGD) SaveState(s *State, prefix string) { s.PutVector(prefix+"v", o.v) }

// LoadState implements Stateful.
func (o *SGD) LoadState(s *State, prefix string) error {
	v, ok := s.Vectors[prefix+"v"]
	if !ok {
		o.v = nil
		return nil
	}
	o.v = slices.Clone(v)
	return nil
}

// SaveState implements Stateful: the moments and the step count.
func (o *Adam) SaveState(s *State, prefix string) {
	s.PutVector(prefix+"m", o.m)
	s.PutVector(prefix+"v", o.v)
	s.PutNumber(prefix+"t", float64(o.t))
}

// LoadState implements Stateful.
func (o *Adam) LoadState(s *State, prefix string) error {
	t, err := s.Number(prefix + "t")
	if err != nil {
		return err
	}
	m, okm := s.Vectors[prefix+"m"]
	v, okv := s.Vectors[prefix+"v"]
	if okm != okv || len(m) != len(v) {
		return fmt.Errorf("optim: adam state %sm and %sv do not match", prefix, prefix)
	}
	o.m, o.v, o.t = slices.Clone(m), slices.Clone(v), int(t)
	return nil
}

// SaveState implements Stateful: the wrapped optimizer's state.
func (c *Clip) SaveState(s *State, prefix string) {
	if st, ok := c.Opt.(Stateful); ok {
		st.SaveState(s, prefix)
	}
}

// LoadState implements Stateful.
func (c *Clip) LoadState(s *State, prefix string) error {
	if st, ok := c.Opt.(Stateful); ok {
		return st.LoadState(s, prefix)
	}
	return nil
}
