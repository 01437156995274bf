package sweep

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepCtx is a context that ends after its Err has been asked n times (the training loop asks
// once per step): a cancel at a step, without timing.
type stepCtx struct {
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func newStepCtx(n int) *stepCtx { return &stepCtx{n: n, done: make(chan struct{})} }

func (c *stepCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *stepCtx) Value(any) any               { return nil }
func (c *stepCtx) Done() <-chan struct{}       { return c.done }
func (c *stepCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n == 0 {
		close(c.done)
	}
	if c.n <= 0 {
		return context.Canceled
	}
	return nil
}

// TestTrialResume: a sweep cancelled in the middle of a trial leaves that trial's checkpoint
// in D/trials; the rerun resumes it, and every trial record and the results equal those of an
// uninterrupted sweep (but for the wall-clock seconds).
func TestTrialResume(t *testing.T) {
	ref := t.TempDir()
	if _, err := Run(context.Background(), tiny(), Options{Out: ref, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Trials of 3 epochs × 5 steps on iris: the 40th question falls in the third trial.
	_, err := Run(newStepCtx(40), tiny(), Options{Out: dir, Workers: 1, CheckpointEvery: 4})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled sweep: %v", err)
	}
	cks, _ := filepath.Glob(filepath.Join(dir, TrialsDir, "*.checkpoint.safetensors"))
	if len(cks) != 1 {
		t.Fatalf("checkpoints after the cancel: %v", cks)
	}
	var log bytes.Buffer
	if _, err := Run(context.Background(), tiny(), Options{Out: dir, Workers: 1, Log: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "sweep: resuming trial "+strings.TrimSuffix(filepath.Base(cks[0]), ".checkpoint.safetensors")+" at step") {
		t.Fatalf("log: %s", log.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, TrialsDir, "*.safetensors")); len(left) != 0 {
		t.Fatalf("checkpoints left: %v", left)
	}
	wall := regexp.MustCompile(`"(wall_)?seconds": [-0-9.e+]+`)
	var files []string
	for _, f := range trialFiles(t, ref) {
		files = append(files, filepath.Base(f))
	}
	for _, f := range append(files, "../results.json") {
		a, _ := os.ReadFile(filepath.Join(ref, TrialsDir, f))
		b, err := os.ReadFile(filepath.Join(dir, TrialsDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wall.ReplaceAll(a, nil), wall.ReplaceAll(b, nil)) {
			t.Fatalf("%s differs from the uninterrupted sweep's:\n%s\n%s", f, a, b)
		}
	}
	t.Logf("trial %s stopped and resumed; %d trial records and results.json as uninterrupted", filepath.Base(cks[0]), len(files))
}
