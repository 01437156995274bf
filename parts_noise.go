package sam

import (
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/tensor"
)

// Random parts: Gaussian noise for members that perturb w at random (RWP, bSAM).

// normals fills dst with independent standard normal draws that depend only on seed and the
// step number t, so that a member that draws fresh noise at every step keeps no random-number
// state: the step count that the core saves is enough for a bit-identical resume. The vector is
// drawn in fixed chunks of normalChunk, each from its own stream (seed, t, chunk), on the worker
// threads: the same bits for any thread count.
func normals(dst []float32, seed uint64, t int) {
	chunks := (len(dst) + normalChunk - 1) / normalChunk
	tensor.Parallel(chunks, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			r := rand.New(rand.NewPCG(seed, uint64(t)<<24|uint64(c)))
			for i := c * normalChunk; i < min(len(dst), (c+1)*normalChunk); i++ {
				dst[i] = float32(r.NormFloat64())
			}
		}
	})
}

const normalChunk = 1 << 14

// loopGrain is the elements per chunk of the members' loops over the parameters that run over
// the threads (tensor.Parallel): a chunk of a few vectors' worth stays in cache. Chunks do not
// change the values: every element is computed on its own.
const loopGrain = 1 << 14

// filterNoise writes w + ε into dst, where z holds standard normal draws and ε is scaled per
// filter: each row j of a tensor of rank ≥ 2 (its first dimension: a dense layer's output unit,
// a convolution's output channel) gets ε = σ·‖W_j‖·z, and a tensor of rank 1 (biases,
// normalisation) gets ε = σ·(‖b‖+1e-16)·z with its whole norm (RWP's filter-wise perturbation).
func (e *Perturbation) filterNoise(dst, w, z []float32, sigma float64) {
	for _, s := range e.Layout.Spans {
		rows := 1
		if len(s.Shape) >= 2 {
			rows = s.Shape[0]
		}
		ws, zs, ds := s.Of(w), s.Of(z), s.Of(dst)
		k := len(ws) / rows
		tensor.Parallel(rows, max(1, loopGrain/k), func(lo, hi int) { // rows, over the threads
			for j := lo; j < hi; j++ {
				wr := ws[j*k : (j+1)*k]
				n := tensor.SumSq64(wr)
				var c float32
				if rows == 1 {
					c = float32(sigma * (math.Sqrt(n) + 1e-16))
				} else {
					c = float32(sigma * math.Sqrt(n))
				}
				tensor.AddScaled(ds[j*k:(j+1)*k], wr, c, zs[j*k:(j+1)*k])
			}
		})
	}
}
