package optim

// Momentum is implemented by base optimizers that keep a running direction of past gradients,
// for SAM members that perturb along it (Momentum-SAM reads it through sam.Step.Base).
type Momentum interface {
	// MomentumBuffer returns the momentum as a view that the next Step overwrites: SGD's
	// v = μv + g, Adam's first moment m = β₁m + (1−β₁)g. It is nil before the first step and for
	// SGD without momentum.
	MomentumBuffer() []float32
}

var (
	_ Momentum = (*SGD)(nil)
	_ Momentum = (*Adam)(nil)
	_ Momentum = (*Clip)(nil)
)

// MomentumBuffer implements Momentum: v, nil without momentum.
func (o *SGD) MomentumBuffer() []float32 {
	if o.Momentum == 0 {
		return nil
	}
	return o.v
}

// MomentumBuffer implements Momentum: the first moment m.
func (o *Adam) MomentumBuffer() []float32 { return o.m }

// MomentumBuffer implements Momentum: the wrapped optimizer's momentum, nil when it has none.
func (c *Clip) MomentumBuffer() []float32 {
	if m, ok := c.Opt.(Momentum); ok {
		return m.MomentumBuffer()
	}
	return nil
}
