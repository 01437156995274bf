// Command gemm times the project's float32 GEMM (tensor.Gemm) on an n×n×n product and prints
// one JSON line per thread count: {"n","threads","kernel","gflops"}. bench/run.sh uses it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/samgo/sam/tensor"
)

func main() {
	n := flag.Int("n", 1024, "matrix size")
	reps := flag.Int("reps", 10, "timed products per thread count")
	flag.Parse()
	if *n <= 0 || *reps <= 0 {
		fmt.Fprintln(os.Stderr, "gemm: -n and -reps must be positive")
		os.Exit(2)
	}
	a := make([]float32, *n**n)
	b := make([]float32, *n**n)
	c := make([]float32, *n**n)
	for i := range a {
		a[i], b[i] = float32(i%7)*0.1, float32(i%5)*0.1
	}
	for _, th := range []int{1, 2} {
		tensor.SetThreads(th)
		tensor.Gemm(false, false, *n, *n, *n, 1, a, *n, b, *n, 0, c, *n) // warm-up
		best := 0.0
		for r := 0; r < *reps; r++ {
			t := time.Now()
			tensor.Gemm(false, false, *n, *n, *n, 1, a, *n, b, *n, 0, c, *n)
			best = max(best, 2*float64(*n)*float64(*n)*float64(*n)/time.Since(t).Seconds()/1e9)
		}
		json.NewEncoder(os.Stdout).Encode(map[string]any{"n": *n, "threads": th, "kernel": tensor.KernelName(), "gflops": best})
	}
}
