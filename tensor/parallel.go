package tensor

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// maxChunks bounds the number of chunks Parallel splits a range into, so that
// huge ranges with a tiny grain do not pay per-chunk overhead millions of times.
const maxChunks = 256

// threads is the configured worker count; 0 means "not set", which resolves
// to runtime.GOMAXPROCS(0) at each use.
var threads atomic.Int64

// SetThreads sets the number of goroutines (the caller included) that kernels
// use; n < 1 means runtime.GOMAXPROCS(0). It returns the previous value.
// Results of every kernel in this package are bit-identical for any setting.
func SetThreads(n int) int {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	old := int(threads.Swap(int64(n)))
	if old < 1 {
		old = runtime.GOMAXPROCS(0)
	}
	return old
}

// Threads returns the number of goroutines kernels use.
func Threads() int {
	if n := int(threads.Load()); n >= 1 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// ChunkSize returns the chunk length Parallel(n, grain, …) uses: chunks are
// [i·s, min((i+1)·s, n)) for i = 0, 1, …, so a chunk's index is lo/s. It depends
// only on n and grain (never on the thread count): max(grain, ⌈n/256⌉), with
// grain < 1 treated as 1.
func ChunkSize(n, grain int) int {
	if grain < 1 {
		grain = 1
	}
	if c := (n + maxChunks - 1) / maxChunks; c > grain {
		return c
	}
	return grain
}

// Parallel runs f over [0,n) split into chunks of ChunkSize(n, grain) items
// (the last one may be shorter) on up to Threads() goroutines, the caller
// included, and returns when all chunks are done. Chunk boundaries depend only
// on n and grain, so a caller that reduces per chunk (indexed by lo/ChunkSize)
// and combines the partial results in chunk order is deterministic for any
// thread count. Each chunk is passed to exactly one call of f; calls may run
// concurrently and in any order. f may itself call Parallel. A panic in f is
// re-raised in the caller after the other chunks have finished.
func Parallel(n, grain int, f func(lo, hi int)) {
	if n <= 0 {
		return
	}
	parallelRun(n, ChunkSize(n, grain), Threads(), funcRunner(f))
}

// ParallelSlots is Parallel with the executing goroutine's slot passed to f: 0 for the caller,
// and always below Threads() as read at the call, so that f can use per-slot scratch space
// allocated for Threads() slots.
func ParallelSlots(n, grain int, f func(slot, lo, hi int)) {
	if n <= 0 {
		return
	}
	parallelRun(n, ChunkSize(n, grain), Threads(), slotRunner(f))
}

// ParallelSlotsOn is ParallelSlots on up to threads goroutines (the caller included) instead of
// Threads(), so that a caller that sizes per-slot scratch by one reading of Threads() and passes
// that reading here stays within it even when another goroutine calls SetThreads meanwhile. It
// also serves callers that run whole tasks of their own side by side, one per thread, with
// Threads() set to 1 meanwhile so that the kernels inside each task stay on its thread: the
// helpers are the kernels' own (awake after a kernel call), so a task starts within microseconds.
func ParallelSlotsOn(threads, n, grain int, f func(slot, lo, hi int)) {
	if n <= 0 {
		return
	}
	parallelRun(n, ChunkSize(n, grain), max(threads, 1), slotRunner(f))
}

type slotRunner func(slot, lo, hi int)

func (f slotRunner) run(slot, lo, hi int) { f(slot, lo, hi) }

// runner is the allocation-free form of a parallel body: slot identifies the
// executing goroutine (0 for the caller, 1… for helpers, always < the
// threads argument of parallelRun) so bodies can use per-slot scratch space.
type runner interface {
	run(slot, lo, hi int)
}

type funcRunner func(lo, hi int)

func (f funcRunner) run(_, lo, hi int) { f(lo, hi) }

// job is one parallelRun invocation shared by the caller and its helpers.
type job struct {
	r       runner
	n       int
	chunk   int
	nchunks int64
	next    atomic.Int64 // next chunk to claim

	// Helper bookkeeping, guarded by offerMu.
	want     int // helper slots offered
	nextSlot int // next helper slot to hand out (1-based)

	active atomic.Int32 // helpers that joined and have not finished
	wg     sync.WaitGroup

	mu     sync.Mutex
	panicV any
	panics bool
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

// work claims chunks until none are left.
func (j *job) work(slot int) {
	for {
		c := j.next.Add(1) - 1
		if c >= j.nchunks {
			return
		}
		lo := int(c) * j.chunk
		hi := min(lo+j.chunk, j.n)
		j.r.run(slot, lo, hi)
	}
}

// safeWork is work with panics captured for the caller.
func (j *job) safeWork(slot int) {
	defer func() {
		if p := recover(); p != nil {
			j.mu.Lock()
			if !j.panics {
				j.panics, j.panicV = true, p
			}
			j.mu.Unlock()
			j.next.Store(j.nchunks) // stop handing out chunks
		}
	}()
	j.work(slot)
}

// Helper pool. A caller publishes its job as an offer of helper slots, wakes
// parked workers, works on the job itself, then retracts the offer and waits
// only for helpers that actually joined. Nobody ever waits for a helper that
// is busy elsewhere, so nested and concurrent Parallel calls cannot deadlock.
//
// Waking a parked goroutine costs tens of microseconds on this kind of
// (virtualised) machine, more than many kernel calls take, so workers spin
// for a short while after finishing a job before parking, and callers spin
// briefly before blocking on their helpers.
const (
	workerSpin = 50 * time.Microsecond
	callerSpin = 20 * time.Microsecond
)

var (
	offerMu  sync.Mutex
	offers   []*job       // jobs with unclaimed helper slots, oldest first
	nOffers  atomic.Int32 // len(offers), for lock-free polling
	wakeCh   = make(chan struct{})
	workMu   sync.Mutex
	nWorkers atomic.Int64
)

// takeOffer claims a helper slot of the oldest open offer.
func takeOffer() (*job, int) {
	if nOffers.Load() == 0 {
		return nil, 0
	}
	offerMu.Lock()
	defer offerMu.Unlock()
	if len(offers) == 0 {
		return nil, 0
	}
	j := offers[0]
	slot := j.nextSlot
	j.nextSlot++
	j.active.Add(1)
	j.wg.Add(1)
	if j.nextSlot > j.want {
		removeOfferLocked(0)
	}
	return j, slot
}

func removeOfferLocked(i int) {
	copy(offers[i:], offers[i+1:])
	offers[len(offers)-1] = nil
	offers = offers[:len(offers)-1]
	nOffers.Add(-1)
}

// spinForOffer polls for an offer for up to workerSpin.
func spinForOffer() bool {
	start := time.Now()
	for i := 0; ; i++ {
		if nOffers.Load() > 0 {
			return true
		}
		if i%8 == 7 {
			runtime.Gosched()
			if time.Since(start) > workerSpin {
				return false
			}
		}
	}
}

func worker() {
	for {
		if j, slot := takeOffer(); j != nil {
			j.safeWork(slot)
			j.active.Add(-1)
			j.wg.Done()
			continue
		}
		if !spinForOffer() {
			<-wakeCh
		}
	}
}

func ensureWorkers(n int) {
	if int(nWorkers.Load()) >= n {
		return
	}
	workMu.Lock()
	for int(nWorkers.Load()) < n {
		go worker()
		nWorkers.Add(1)
	}
	workMu.Unlock()
}

// parallelRun runs r over [0,n) in chunks of chunk items using up to nthreads
// goroutines (the caller included). With one thread or one chunk it runs the
// chunks in order on the caller, with no synchronisation at all.
func parallelRun(n, chunk, nthreads int, r runner) {
	nchunks := (n + chunk - 1) / chunk
	helpers := min(nthreads, nchunks) - 1
	if helpers <= 0 {
		for lo := 0; lo < n; lo += chunk {
			r.run(0, lo, min(lo+chunk, n))
		}
		return
	}
	ensureWorkers(nthreads - 1)
	j := jobPool.Get().(*job)
	j.r, j.n, j.chunk, j.nchunks = r, n, chunk, int64(nchunks)
	j.next.Store(0)

	offerMu.Lock()
	j.want, j.nextSlot = helpers, 1
	offers = append(offers, j)
	nOffers.Add(1)
	offerMu.Unlock()
	for range helpers {
		select {
		case wakeCh <- struct{}{}:
		default:
		}
	}

	j.safeWork(0)

	// Retract the offer if no helper took all slots, then wait for the
	// helpers that joined.
	offerMu.Lock()
	for i, o := range offers {
		if o == j {
			removeOfferLocked(i)
			break
		}
	}
	offerMu.Unlock()
	if j.active.Load() > 0 {
		start := time.Now()
		for i := 0; j.active.Load() > 0; i++ {
			if i%8 == 7 {
				runtime.Gosched()
				if time.Since(start) > callerSpin {
					break
				}
			}
		}
	}
	j.wg.Wait()

	panics, p := j.panics, j.panicV
	j.r, j.panicV, j.panics = nil, nil, false
	jobPool.Put(j)
	if panics {
		panic(p)
	}
}
