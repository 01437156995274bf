package tensor

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSetThreads(t *testing.T) {
	prev := SetThreads(3)
	defer SetThreads(prev)
	if Threads() != 3 {
		t.Fatalf("Threads() = %d, want 3", Threads())
	}
	if got := SetThreads(0); got != 3 {
		t.Fatalf("SetThreads returned %d, want 3", got)
	}
	if Threads() < 1 {
		t.Fatalf("Threads() = %d after SetThreads(0)", Threads())
	}
}

// chunksOf runs Parallel and returns the chunks it produced, sorted.
func chunksOf(n, grain int) [][2]int {
	var mu sync.Mutex
	var got [][2]int
	Parallel(n, grain, func(lo, hi int) {
		mu.Lock()
		got = append(got, [2]int{lo, hi})
		mu.Unlock()
	})
	slices.SortFunc(got, func(a, b [2]int) int { return a[0] - b[0] })
	return got
}

func TestParallelChunks(t *testing.T) {
	defer SetThreads(SetThreads(1))
	for _, n := range []int{0, 1, 2, 5, 7, 64, 100, 255, 256, 257, 1000, 100003} {
		for _, grain := range []int{-1, 0, 1, 3, 16, 1000, 1 << 20} {
			var first [][2]int
			for _, th := range []int{1, 2, 3, 7} {
				SetThreads(th)
				got := chunksOf(n, grain)
				// Chunks tile [0,n) exactly once, in ChunkSize steps.
				s := ChunkSize(n, grain)
				if s < max(grain, 1) {
					t.Fatalf("ChunkSize(%d,%d) = %d < grain", n, grain, s)
				}
				next := 0
				for _, c := range got {
					if c[0] != next || c[1] <= c[0] || c[1] > n || (c[1]-c[0] != s && c[1] != n) {
						t.Fatalf("n=%d grain=%d threads=%d: bad chunk %v (expected start %d, size %d)", n, grain, th, c, next, s)
					}
					next = c[1]
				}
				if next != n {
					t.Fatalf("n=%d grain=%d threads=%d: covered [0,%d)", n, grain, th, next)
				}
				if first == nil {
					first = got
				} else if !slices.Equal(first, got) {
					t.Fatalf("n=%d grain=%d: chunks differ between thread counts", n, grain)
				}
			}
		}
	}
}

func TestParallelNested(t *testing.T) {
	defer SetThreads(SetThreads(4))
	var total atomic.Int64
	Parallel(8, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			Parallel(100, 3, func(lo, hi int) {
				total.Add(int64(hi - lo))
			})
		}
	})
	if total.Load() != 800 {
		t.Fatalf("nested total = %d, want 800", total.Load())
	}
}

func TestParallelPanic(t *testing.T) {
	defer SetThreads(SetThreads(3))
	for _, where := range []int{0, 5, 9} {
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Fatalf("recovered %v, want boom", p)
				}
			}()
			Parallel(10, 1, func(lo, hi int) {
				if lo == where {
					panic("boom")
				}
			})
			t.Fatal("no panic")
		}()
	}
	// The pool still works afterwards.
	if got := chunksOf(10, 1); len(got) != 10 {
		t.Fatalf("after panic: %d chunks", len(got))
	}
}

// TestParallelSlotsOn: every item exactly once, each slot below the thread count given, whatever
// SetThreads says (here 1, as while m-sharpness's chunks run side by side).
func TestParallelSlotsOn(t *testing.T) {
	defer SetThreads(SetThreads(1))
	for _, threads := range []int{0, 1, 2, 5} {
		const n = 1000
		var seen [n]atomic.Int32
		var bad atomic.Int32
		ParallelSlotsOn(threads, n, 7, func(slot, lo, hi int) {
			if slot < 0 || slot >= max(threads, 1) {
				bad.Store(int32(slot) + 1)
			}
			for i := lo; i < hi; i++ {
				seen[i].Add(1)
			}
		})
		if b := bad.Load(); b != 0 {
			t.Fatalf("threads=%d: slot %d", threads, b-1)
		}
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("threads=%d: item %d ran %d times", threads, i, c)
			}
		}
	}
}
