package sharpness

import (
	"reflect"
	"runtime"

	"github.com/samgo/sam/nn"
)

// The generic R-operator's cache across batches. An nn layer keeps the state of its last
// Forward (its input, im2col columns, arg-maxes) for the Backward that follows, so one set of
// layers holds the passes at w of one batch. Each further batch that the memory budget allows
// gets its own instance of the model (nn.Build of the same spec, the BatchNorm statistics
// shared with the model's), whose nodes keep that batch's passes at w across products; the
// twins that hold R(x)'s state are shared by all batches, since the R-passes of one batch end
// before the next begins. The memory of an instance is measured, not guessed from shapes:
// the bytes allocated while it is built and runs its first product (runtime.MemStats
// TotalAlloc, which counts every allocation and so errs on the side of more).

// genState is one set of nodes and the passes at w they hold.
type genState struct {
	seq       *rseq
	owner     int       // the batch whose passes at w the nodes hold; −1: none
	y, gd, dy []float32 // the model's output, the loss gradient, the gradient the backward pass took
	zero      []float32 // GGN and Fisher: a zero loss gradient
}

// addGen gives batch b (the next one without) its nodes: h.seq for batch 0, a new model
// instance while the budget lasts, h.seq (shared, recomputed) after.
func (h *Hessian) addGen(b int) {
	if b == 0 {
		h.gen = append(h.gen, &genState{seq: h.seq, owner: -1})
		return
	}
	if !h.genFull && h.genBytes < h.obj.cacheLimit() {
		if seq := h.instance(); seq != nil {
			h.gen = append(h.gen, &genState{seq: seq, owner: -1})
			return
		}
	}
	h.genFull = true
	h.gen = append(h.gen, h.gen[0])
}

// account adds the memory measured for batch b's instance; past the budget the instance is
// dropped and b and every later batch share batch 0's nodes.
func (h *Hessian) account(b int, bytes int64) {
	h.genSizes = append(h.genSizes, bytes)
	h.genBytes += bytes
	if h.genBytes > h.obj.cacheLimit() {
		h.gen[b] = h.gen[0]
		h.genFull = true
	}
}

// instance returns the nodes of a new instance of the model, or nil when the spec does not
// rebuild it with the same layout.
func (h *Hessian) instance() *rseq {
	m := h.obj.Model
	im, err := nn.Build(m.Spec)
	if err != nil || im.Layout.String() != m.Layout.String() || len(im.Layers) != len(m.Layers) {
		return nil
	}
	if !sameLayers(im.Layers, m.Layers) || !shareStats(im.Layers, m.Layers) {
		return nil
	}
	seq, err := buildSeqWith(im.Layers, h.seq.twins, h.seq.scratch)
	if err != nil {
		return nil
	}
	return seq
}

// shareStats points the BatchNorm layers of dst at the running statistics of the same layers
// of src; false if the two do not match layer by layer.
func shareStats(dst, src []nn.Layer) bool {
	if len(dst) != len(src) {
		return false
	}
	for i, l := range dst {
		switch d := l.(type) {
		case *nn.BatchNorm:
			s, ok := src[i].(*nn.BatchNorm)
			if !ok || len(s.Mean) != len(d.Mean) {
				return false
			}
			d.Mean, d.Var, d.Eps, d.Momentum = s.Mean, s.Var, s.Eps, s.Momentum
		case *nn.Residual:
			s, ok := src[i].(*nn.Residual)
			if !ok || !shareStats(d.Body, s.Body) || !shareStats(d.Short, s.Short) {
				return false
			}
		}
	}
	return true
}

// sameLayers reports whether a and b are layers of the same types with the same settings: every
// exported field of a basic kind (sizes, flags, activation names, constants) equal, and the same
// for nested layer lists (residual blocks). A model whose layers were changed after nn.Build
// (an activation swapped) is not rebuilt from its spec.
func sameLayers(a, b []nn.Layer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		va, vb := reflect.ValueOf(a[i]), reflect.ValueOf(b[i])
		if va.Type() != vb.Type() {
			return false
		}
		if va.Kind() == reflect.Pointer {
			va, vb = va.Elem(), vb.Elem()
		}
		if va.Kind() != reflect.Struct {
			return false
		}
		for j := range va.NumField() {
			if !va.Type().Field(j).IsExported() {
				continue
			}
			fa, fb := va.Field(j), vb.Field(j)
			switch fa.Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
				reflect.Float32, reflect.Float64, reflect.String:
				if !fa.Equal(fb) {
					return false
				}
			case reflect.Slice:
				la, oka := fa.Interface().([]nn.Layer)
				lb, okb := fb.Interface().([]nn.Layer)
				if oka && okb && !sameLayers(la, lb) {
					return false
				}
			}
		}
	}
	return true
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}
