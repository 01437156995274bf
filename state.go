package sam

import (
	"fmt"

	"github.com/samgo/sam/optim"
)

// The optimizer's state between steps, for checkpoints: the step count, the base optimizer's
// state ("base."), the mask stream of the perturbation ("mask.") and the member's own state
// ("rule."), each part saved by its owner. A Rule that keeps state across steps implements
// optim.Stateful; scratch buffers are not state.

var _ optim.Stateful = (*Optimizer)(nil)

// SaveState implements optim.Stateful.
func (o *Optimizer) SaveState(s *optim.State, prefix string) {
	s.PutNumber(prefix+"step", float64(o.s.T))
	if b, ok := o.base.(optim.Stateful); ok {
		b.SaveState(s, prefix+"base.")
	}
	if m := o.s.Eps.Mask; m != nil {
		for i, x := range m.bern.State() {
			s.PutWord(fmt.Sprintf("%smask.lane%d", prefix, i), x)
		}
	}
	if r, ok := o.rule.(optim.Stateful); ok {
		r.SaveState(s, prefix+"rule.")
	}
}

// LoadState implements optim.Stateful: it restores what SaveState saved, for an optimizer made
// by New with the same config and layout.
func (o *Optimizer) LoadState(s *optim.State, prefix string) error {
	t, err := s.Number(prefix + "step")
	if err != nil {
		return err
	}
	if b, ok := o.base.(optim.Stateful); ok {
		if err := b.LoadState(s, prefix+"base."); err != nil {
			return err
		}
	}
	if m := o.s.Eps.Mask; m != nil {
		var lanes [8]uint64
		for i := range lanes {
			if lanes[i], err = s.Word(fmt.Sprintf("%smask.lane%d", prefix, i)); err != nil {
				return err
			}
			if lanes[i] == 0 {
				return fmt.Errorf("sam: state %smask.lane%d is zero", prefix, i)
			}
		}
		m.bern.SetState(lanes)
	}
	if r, ok := o.rule.(optim.Stateful); ok {
		if err := r.LoadState(s, prefix+"rule."); err != nil {
			return err
		}
	}
	o.s.T = int(t)
	return nil
}

// putKept saves v as name when have: a vector that a member keeps once it has one (a running
// average, say), absent from the state before that.
func putKept(s *optim.State, name string, v []float32, have bool) {
	if have {
		s.PutVector(name, v)
	}
}

// loadKept restores into v (len(v) elements) what putKept saved, and reports whether there was
// one; an error names a mis-sized entry.
func loadKept(s *optim.State, name string, v []float32) (have bool, err error) {
	x, err := s.Vector(name, len(v))
	if err != nil || x == nil {
		return false, err
	}
	copy(v, x)
	return true, nil
}
