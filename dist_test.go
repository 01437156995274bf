package sam_test

import (
	"math"
	"sync"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/optim"
)

// allReduce is an in-process all-reduce over n goroutine "workers": each call blocks until all
// n workers have called, then every worker gets the mean (summed in worker order, as MPI's
// reduction would in some fixed order).
type allReduce struct {
	mu    sync.Mutex
	cond  *sync.Cond
	n     int
	round int
	in    [][]float32
	loss  []float64
	out   []float32
	lout  float64
	done  int
}

func newAllReduce(n int) *allReduce {
	a := &allReduce{n: n, in: make([][]float32, n), loss: make([]float64, n)}
	a.cond = sync.NewCond(&a.mu)
	return a
}

func (a *allReduce) reduce(rank int) sam.Reduce {
	return func(g []float32, l float64) float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		for a.done != 0 { // the previous round is still being read
			a.cond.Wait()
		}
		round := a.round
		a.in[rank], a.loss[rank] = append([]float32(nil), g...), l
		arrived := 0
		for _, v := range a.in {
			if v != nil {
				arrived++
			}
		}
		if arrived == a.n {
			a.out = make([]float32, len(g))
			a.lout = 0
			for r := range a.n {
				for i, x := range a.in[r] {
					a.out[i] += x / float32(a.n)
				}
				a.lout += a.loss[r] / float64(a.n)
			}
			clear(a.in)
			a.round++
			a.cond.Broadcast()
		}
		for a.round == round {
			a.cond.Wait()
		}
		copy(g, a.out)
		l = a.lout
		a.done++
		if a.done == a.n {
			a.done = 0
			a.cond.Broadcast()
		}
		return l
	}
}

// TestDataParallel: two workers on halves of a 4-example batch. With the first pass reduced
// too (global ε) they take single-process SAM's steps on the whole batch; with only the final
// gradient reduced (local ε) they take m-sharpness's steps with m = 2. Both workers end with
// the same weights.
func TestDataParallel(t *testing.T) {
	for _, global := range []bool{true, false} {
		ref := append([]float32(nil), w6...)
		cfg := sam.Config{Rho: 0.05}
		if !global {
			cfg.M = 2
		}
		o := newMember(t, cfg, &optim.SGD{Momentum: 0.9})
		ex := quad6()
		for s := range 30 {
			if _, err := o.Step(ref, 4, ex.loss, 0.05*math.Pow(0.99, float64(s))); err != nil {
				t.Fatal(err)
			}
		}
		ar := newAllReduce(2)
		ws := [2][]float32{}
		var wg sync.WaitGroup
		for rank := range 2 {
			ws[rank] = append([]float32(nil), w6...)
			o := newMember(t, sam.Config{Rho: 0.05}, &optim.SGD{Momentum: 0.9})
			var first sam.Reduce
			if global {
				first = ar.reduce(rank)
			}
			if err := o.SetReduce(ar.reduce(rank), first); err != nil {
				t.Fatal(err)
			}
			ex := quad6()
			shard := func(w, g []float32, lo, hi int, second bool) float64 { // this worker's 2 examples
				return ex.loss(w, g, 2*rank+lo, 2*rank+hi, second)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for s := range 30 {
					if _, err := o.Step(ws[rank], 2, shard, 0.05*math.Pow(0.99, float64(s))); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for i := range ref {
			if ws[0][i] != ws[1][i] {
				t.Fatalf("global=%v: workers differ: %v and %v", global, ws[0], ws[1])
			}
			if d := math.Abs(float64(ws[0][i] - ref[i])); d > 1e-5*math.Max(1, math.Abs(float64(ref[i]))) {
				t.Fatalf("global=%v: workers end at %v, single process at %v", global, ws[0], ref)
			}
		}
	}
}
