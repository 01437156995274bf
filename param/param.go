package param

import (
	"fmt"
	"strings"
)

// Kind says what role a parameter tensor plays.
type Kind uint8

const (
	// Weight tensors (dense and convolution kernels) take L2, weight decay and ASAM's scaling.
	Weight Kind = iota
	// Bias vectors are excluded from L2 and weight decay.
	Bias
	// Norm marks normalisation scale and shift (BatchNorm γ and β), excluded like biases.
	Norm
)

func (k Kind) String() string {
	switch k {
	case Weight:
		return "weight"
	case Bias:
		return "bias"
	case Norm:
		return "norm"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Span is one named tensor inside the flat parameter vector: elements [Off, Off+Size()).
type Span struct {
	Name  string
	Shape []int
	Kind  Kind
	Off   int
}

// Size is the number of elements of the span.
func (s Span) Size() int {
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// End is the offset one past the span's last element.
func (s Span) End() int { return s.Off + s.Size() }

// Of returns the span's elements of the flat vector v.
func (s Span) Of(v []float32) []float32 { return v[s.Off:s.End():s.End()] }

// Layout is an ordered list of spans that tile a flat vector from offset 0 without gaps.
// The zero value is an empty layout ready for Add.
type Layout struct {
	Spans []Span
	size  int
}

// Add appends a tensor of the given name, kind and shape and returns its span.
// It panics on a duplicate name or a non-positive dimension (programmer errors).
func (l *Layout) Add(name string, kind Kind, shape ...int) Span {
	if _, ok := l.Lookup(name); ok {
		panic("param: duplicate span name " + name)
	}
	for _, d := range shape {
		if d <= 0 {
			panic(fmt.Sprintf("param: span %s has non-positive shape %v", name, shape))
		}
	}
	s := Span{Name: name, Shape: append([]int(nil), shape...), Kind: kind, Off: l.size}
	l.Spans = append(l.Spans, s)
	l.size += s.Size()
	return s
}

// Size is the length of the flat vector.
func (l *Layout) Size() int { return l.size }

// Lookup finds a span by name.
func (l *Layout) Lookup(name string) (Span, bool) {
	for _, s := range l.Spans {
		if s.Name == name {
			return s, true
		}
	}
	return Span{}, false
}

// Count returns how many elements belong to spans of kind k.
func (l *Layout) Count(k Kind) int {
	n := 0
	for _, s := range l.Spans {
		if s.Kind == k {
			n += s.Size()
		}
	}
	return n
}

// String lists the spans, one per line, for logs and error messages.
func (l *Layout) String() string {
	var b strings.Builder
	for _, s := range l.Spans {
		fmt.Fprintf(&b, "%s %v %s [%d,%d)\n", s.Name, s.Shape, s.Kind, s.Off, s.End())
	}
	return b.String()
}
