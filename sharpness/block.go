package sharpness

import (
	"fmt"
	"path"
	"strings"

	"github.com/samgo/sam/param"
)

// SelectSpans returns the spans of l whose names match any of the glob patterns (path.Match
// syntax: conv2.* or *.weight), in layout order. A malformed pattern or one that matches no span
// is an error naming it.
func SelectSpans(l *param.Layout, patterns []string) ([]param.Span, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("sharpness: no parameter patterns")
	}
	hit := make([]bool, len(patterns))
	var out []param.Span
	for _, s := range l.Spans {
		keep := false
		for i, p := range patterns {
			ok, err := path.Match(p, s.Name)
			if err != nil {
				return nil, fmt.Errorf("--params: malformed pattern %q", p)
			}
			if ok {
				hit[i], keep = true, true
			}
		}
		if keep {
			out = append(out, s)
		}
	}
	for i, p := range patterns {
		if !hit[i] {
			names := make([]string, len(l.Spans))
			for j, s := range l.Spans {
				names[j] = s.Name
			}
			return nil, fmt.Errorf("--params: pattern %q matches no parameter (the model has %s)", p, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// Block is the diagonal block of an operator on the coordinates of some spans: for a Hessian,
// the Hessian of the loss as a function of those parameters alone, the others held fixed. Its
// vectors list the spans' elements in the order of the spans.
type Block struct {
	A     Operator
	Spans []param.Span

	dim       int
	full, out []float64
}

// NewBlock returns the block of a on spans (which must lie inside [0, a.Dim()) and not overlap).
func NewBlock(a Operator, spans []param.Span) (*Block, error) {
	b := &Block{A: a, Spans: spans}
	used := make([]bool, a.Dim())
	for _, s := range spans {
		if s.Off < 0 || s.End() > a.Dim() {
			return nil, fmt.Errorf("sharpness: span %s [%d,%d) outside the operator's %d coordinates", s.Name, s.Off, s.End(), a.Dim())
		}
		for i := s.Off; i < s.End(); i++ {
			if used[i] {
				return nil, fmt.Errorf("sharpness: span %s overlaps another", s.Name)
			}
			used[i] = true
		}
		b.dim += s.Size()
	}
	if b.dim == 0 {
		return nil, fmt.Errorf("sharpness: a block of no parameters")
	}
	b.full = make([]float64, a.Dim())
	b.out = make([]float64, a.Dim())
	return b, nil
}

// Dim implements Operator.
func (b *Block) Dim() int { return b.dim }

// Mul implements Operator: one product of the whole operator with v placed on the spans (zero
// elsewhere), read back on the spans.
func (b *Block) Mul(dst, v []float64) {
	clear(b.full)
	b.Embed(b.full, v)
	b.A.Mul(b.out, b.full)
	b.Extract(dst, b.out)
}

// Embed writes the block vector v into the spans of the full vector dst (other entries are
// left as they are).
func (b *Block) Embed(dst, v []float64) {
	k := 0
	for _, s := range b.Spans {
		k += copy(dst[s.Off:s.End()], v[k:k+s.Size()])
	}
}

// Extract writes the spans' entries of the full vector x into dst.
func (b *Block) Extract(dst, x []float64) {
	k := 0
	for _, s := range b.Spans {
		k += copy(dst[k:k+s.Size()], x[s.Off:s.End()])
	}
}

// LayerCurvature is the top eigenvalue and the trace of the diagonal block of one span.
type LayerCurvature struct {
	Name        string  `json:"name"`
	Size        int     `json:"size"`
	LambdaMax   float64 `json:"lambda_max"`
	Residual    float64 `json:"residual"`
	Steps       int     `json:"lanczos_steps"`
	Converged   bool    `json:"lanczos_converged"`
	Trace       float64 `json:"trace"`
	TraceStdErr float64 `json:"trace_stderr"`
	TraceExact  bool    `json:"trace_exact"` // the trace summed over the span's unit vectors
}

// ByLayer measures, for each span, the largest eigenvalue of a's diagonal block (Lanczos with
// opt) and its trace: Hutchinson with traceSamples Rademacher vectors, or exactly from the
// block's unit vectors when the span has at most traceSamples elements (as many products);
// traceSamples 0 skips the trace.
func ByLayer(a Operator, spans []param.Span, opt LanczosOptions, traceSamples int) ([]LayerCurvature, error) {
	var out []LayerCurvature
	for _, s := range spans {
		b, err := NewBlock(a, []param.Span{s})
		if err != nil {
			return nil, err
		}
		e, err := TopEigen(b, 1, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		lc := LayerCurvature{Name: s.Name, Size: s.Size(), LambdaMax: e.Values[0], Residual: e.Residuals[0],
			Steps: e.Iterations, Converged: e.Converged}
		switch {
		case traceSamples == 0:
		case s.Size() <= traceSamples:
			lc.Trace, lc.TraceExact = ExactTrace(b), true
		default:
			tr, err := Trace(b, traceSamples, opt.Seed)
			if err != nil {
				return nil, err
			}
			lc.Trace, lc.TraceStdErr = tr.Trace, tr.StdErr
		}
		out = append(out, lc)
	}
	return out, nil
}

// ExactTrace is Σᵢ eᵢᵀ a eᵢ over the n unit vectors (n products).
func ExactTrace(a Operator) float64 {
	n := a.Dim()
	e := make([]float64, n)
	col := make([]float64, n)
	var t float64
	for i := range n {
		clear(e)
		e[i] = 1
		a.Mul(col, e)
		t += col[i]
	}
	return t
}
