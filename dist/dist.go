package dist

import (
	"errors"
	"math"
	"os"
)

// Op is a reduction.
type Op int

const (
	Sum  Op = iota // the sum over ranks
	Mean           // the sum over ranks divided by the number of ranks
	Max            // the largest value over ranks
)

// Comm is a communicator over Size ranks. Every collective must be called by all ranks in the
// same order with vectors of the same length; each returns once this rank's part is done. The
// results of AllReduce32 and AllReduce64 are bit-identical on all ranks.
type Comm interface {
	Rank() int
	Size() int
	// AllReduce32 replaces x, on every rank, by the reduction op of all ranks' x.
	AllReduce32(x []float32, op Op)
	// AllReduce64 is AllReduce32 for float64.
	AllReduce64(x []float64, op Op)
	// Bcast32 copies root's x into every rank's x.
	Bcast32(x []float32, root int)
	// BcastBytes copies root's b into every rank's b (of the same length).
	BcastBytes(b []byte, root int)
	// Abort stops every rank of the job with exit status code; it does not return.
	Abort(code int)
	// Close ends this rank's use of the communicator (MPI_Finalize); call it once, last.
	Close() error
}

// Single is the communicator of one process: rank 0 of 1. Collectives leave their arguments
// as they are; Abort exits the process.
type Single struct{}

var _ Comm = Single{}

func (Single) Rank() int                     { return 0 }
func (Single) Size() int                     { return 1 }
func (Single) AllReduce32(x []float32, _ Op) {}
func (Single) AllReduce64(x []float64, _ Op) {}
func (Single) Bcast32(x []float32, _ int)    {}
func (Single) BcastBytes(b []byte, _ int)    {}
func (Single) Abort(code int)                { os.Exit(code) }
func (Single) Close() error                  { return nil }

// Agreed is the error that Agree returns on every rank when some rank failed: the first failing
// rank's message and code. Agree passes an Agreed error through without communicating, so that
// a rank that already agreed on its failure does not wait for the others again.
type Agreed struct {
	Msg  string
	Code int // the failing rank's code (the exit status it asked for)
	Rank int // the lowest rank that failed
}

func (e *Agreed) Error() string { return e.Msg }

// Agree is a collective: every rank passes its own error (nil when it is fine) and the code it
// would exit with; if any rank failed, every rank returns the same *Agreed error, with the
// message and code of the lowest failing rank. It returns nil when all ranks are fine. On one
// rank it returns err unchanged (as *Agreed when not nil).
func Agree(c Comm, err error, code int) error {
	var ag *Agreed
	if errors.As(err, &ag) {
		return ag
	}
	if c.Size() == 1 {
		if err == nil {
			return nil
		}
		return &Agreed{Msg: err.Error(), Code: code}
	}
	// The lowest failing rank, by a max-reduction of -rank (ranks that are fine send -Size).
	v := []float64{-float64(c.Size())}
	if err != nil {
		v[0] = -float64(c.Rank())
	}
	c.AllReduce64(v, Max)
	if v[0] == -float64(c.Size()) {
		return nil
	}
	from := int(-v[0])
	var msg []byte
	if c.Rank() == from {
		msg = []byte(err.Error())
	}
	hdr := []float64{float64(len(msg)), float64(code)}
	if c.Rank() != from {
		hdr[0], hdr[1] = math.Inf(-1), math.Inf(-1)
	}
	c.AllReduce64(hdr, Max) // root's length and code reach everyone
	if c.Rank() != from {
		msg = make([]byte, int(hdr[0]))
	}
	c.BcastBytes(msg, from)
	return &Agreed{Msg: string(msg), Code: int(hdr[1]), Rank: from}
}

// Checksum is a 64-bit FNV-1a hash of the bits of w: equal weights have equal checksums.
func Checksum(w []float32) uint64 {
	h := uint64(14695981039346656037)
	for _, x := range w {
		b := math.Float32bits(x)
		for range 4 {
			h ^= uint64(b & 0xff)
			h *= 1099511628211
			b >>= 8
		}
	}
	return h
}

// Same reports, on every rank, whether all ranks passed the same checksum (a collective).
func Same(c Comm, sum uint64) bool {
	if c.Size() == 1 {
		return true
	}
	// Two 32-bit halves are exact in float64; max and -min agree iff all values are equal.
	v := []float64{float64(sum >> 32), float64(sum & 0xffffffff), -float64(sum >> 32), -float64(sum & 0xffffffff)}
	c.AllReduce64(v, Max)
	return v[0] == -v[2] && v[1] == -v[3]
}

// GatherBytes is a collective: every rank passes its own b (of any length) and receives every
// rank's, indexed by rank (its own is b itself). The lengths travel in one all-reduce of a
// zeroed vector, the bytes in one broadcast from each rank.
func GatherBytes(c Comm, b []byte) [][]byte {
	n := c.Size()
	out := make([][]byte, n)
	out[c.Rank()] = b
	if n == 1 {
		return out
	}
	lens := make([]float64, n)
	lens[c.Rank()] = float64(len(b))
	c.AllReduce64(lens, Sum)
	for r := range n {
		if r != c.Rank() {
			out[r] = make([]byte, int(lens[r]))
		}
		if len(out[r]) > 0 {
			c.BcastBytes(out[r], r)
		}
	}
	return out
}
