package ui

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkScan times one poll's scan of a folder with 200 training runs and a sweep of 2,000
// trials: "cached" is the steady state (nothing changed: every file is stat'ed, none parsed),
// "cold" parses everything (the first request).
func BenchmarkScan(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "runs")
	for i := range 200 {
		put(b, filepath.Join(dir, fmt.Sprintf("r%03d", i), "metrics.jsonl"), metrics3)
		put(b, filepath.Join(dir, fmt.Sprintf("r%03d", i), "summary.json"), summaryA)
	}
	put(b, filepath.Join(dir, "sw", "sweep.json"), `{"rho":[0,0.1],"lr":[0.001],"l2":[0],"seeds":1000}`)
	for i := range 2000 {
		id := fmt.Sprintf("t%04d", i)
		put(b, filepath.Join(dir, "sw", "trials", id+".json"), trial(id, float64(i%2)/10, i/2, -1, 0.8))
	}
	s, err := New([]string{dir}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if n := len(s.sc.scan().runs); n != 2200 {
		b.Fatalf("%d runs, want 2200", n)
	}
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			s.sc.scan()
		}
	})
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			s.sc.cache = map[string]cacheEntry{}
			s.sc.scan()
		}
	})
}
