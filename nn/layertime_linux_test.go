package nn

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/samgo/sam/tensor"
)

// BenchmarkLayerTimes times each top-level layer's Forward and Backward of a model on one
// batch (SAM_LAYERS_MODEL: cnn (default), resnet or wrn; SAM_LAYERS_BATCH, default 128) and prints
// a per-layer table: where a training step's time goes.
//
//	go test ./nn -run '^$' -bench LayerTimes -benchtime 20x
func BenchmarkLayerTimes(b *testing.B) {
	spec := Spec{Model: "cnn", Input: []int{1, 28, 28}, Outputs: 10, Loss: "ce"}
	switch os.Getenv("SAM_LAYERS_MODEL") {
	case "resnet":
		spec.Model = "resnet"
	case "wrn":
		spec = Spec{Model: "wrn", Input: []int{3, 32, 32}, Outputs: 10, Loss: "ce", Depth: 16, Width: 4}
	}
	spec.Conv = os.Getenv("SAM_LAYERS_CONV") // "" (direct) or "winograd"
	n := 128
	if v := os.Getenv("SAM_LAYERS_BATCH"); v != "" {
		fmt.Sscan(v, &n)
	}
	m, err := Build(spec)
	if err != nil {
		b.Fatal(err)
	}
	w, _ := m.Init("default", 1)
	g := make([]float32, len(w))
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*m.InDim())
	for i := range x {
		x[i] = rng.Float32()
	}
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(spec.Outputs))
	}
	c := &Ctx{Train: true, Rng: rng}
	// SAM_LAYERS_CPU=1: one thread, and the calling thread's CPU time instead of wall time,
	// which other processes on a busy machine disturb much less.
	now := time.Now
	since := time.Since
	if os.Getenv("SAM_LAYERS_CPU") == "1" {
		defer tensor.SetThreads(tensor.SetThreads(1))
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		now = threadCPU
		since = func(t time.Time) time.Duration { return threadCPU().Sub(t) }
	}
	fw := make([]time.Duration, len(m.Layers))
	bw := make([]time.Duration, len(m.Layers))
	dout := make([]float32, n*spec.Outputs)
	for it := 0; it < b.N+1; it++ {
		h := x
		for i := 0; i < len(m.Layers); i++ {
			t0 := now()
			var k int
			h, k = m.forwardAt(c, w, h, n, i) // fused layers are timed with the first
			if it > 0 {
				fw[i] += since(t0)
			}
			i += k
		}
		m.Loss.Eval(h, n, spec.Outputs, Target{Labels: labels}, dout)
		d := dout
		for i := len(m.Layers) - 1; i >= 0; i-- {
			if m.fusedInto(i) {
				continue
			}
			t0 := now()
			d = m.Layers[i].Backward(c, w, g, d, n, i > 0)
			if it > 0 {
				bw[i] += since(t0)
			}
		}
	}
	var sb strings.Builder
	var tf, tb time.Duration
	fmt.Fprintf(&sb, "\n%s batch %d, %d threads: ms per call\n%-4s %-12s %9s %9s\n", spec.Model, n, tensor.Threads(), "#", "layer", "forward", "backward")
	for i, l := range m.Layers {
		tf += fw[i]
		tb += bw[i]
		fmt.Fprintf(&sb, "%-4d %-12s %9.3f %9.3f\n", i, strings.TrimPrefix(fmt.Sprintf("%T", l), "*nn."), ms(fw[i], b.N), ms(bw[i], b.N))
	}
	fmt.Fprintf(&sb, "     %-12s %9.3f %9.3f   step %.3f ms\n", "total", ms(tf, b.N), ms(tb, b.N), ms(tf+tb, b.N))
	fmt.Print(sb.String())
}

func ms(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1000 / float64(n) }

// threadCPU is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID), as a time.Time from
// the epoch.
func threadCPU() time.Time {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Unix(ts.Sec, ts.Nsec)
}
