//go:build mpi

package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/train"
)

// These tests run under mpirun -np 2 (see .ci/run): go test -c -tags mpi ./cmd/sam, then
// mpirun -np 2 ./sam.test -test.run MPI. With one rank they skip.

func TestMain(m *testing.M) {
	code := m.Run()
	closeWorld()
	os.Exit(code)
}

func mpiWorld(t *testing.T) dist.Comm {
	t.Helper()
	c, err := world()
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() < 2 {
		t.Skip("one rank: run this test binary under mpirun -np 2")
	}
	closeWorld = func() { c.Close() }
	return c
}

// sharedDir is a folder that every rank names the same (rank 0's temporary folder).
func sharedDir(t *testing.T, c dist.Comm) string {
	b := make([]byte, 256)
	if c.Rank() == 0 {
		copy(b, t.TempDir())
	}
	c.BcastBytes(b, 0)
	return string(bytes.TrimRight(b, "\x00"))
}

// TestMPICLI: `mpirun -np 2 sam train --dist-eps global` writes (on rank 0) the weights that one
// process writes for the same flags.
func TestMPICLI(t *testing.T) {
	c := mpiWorld(t)
	dir := sharedDir(t, c)
	args := strings.Fields("train --data digits --hidden 32 --opt sgd --momentum 0.9 --lr 0.05 --batch-size 64 --epochs 2 --threads 1 --quiet")
	var out, errb bytes.Buffer
	if code := run(context.Background(), append(args, "--dist-eps", "global", "--out", filepath.Join(dir, "mpi")), &out, &errb); code != 0 {
		t.Fatalf("rank %d: exit %d: %s", c.Rank(), code, errb.String())
	}
	if (c.Rank() == 0) != (out.Len() > 0) {
		t.Errorf("rank %d printed %q", c.Rank(), out.String())
	}
	if c.Rank() != 0 {
		return
	}
	saved := world
	world = func() (dist.Comm, error) { return dist.Single{}, nil }
	defer func() { world = saved }()
	if code := run(context.Background(), append(args, "--out", filepath.Join(dir, "one")), &out, &errb); code != 0 {
		t.Fatalf("one process: exit %d: %s", code, errb.String())
	}
	_, a, ca, err := train.LoadModel(filepath.Join(dir, "mpi", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	_, b, _, err := train.LoadModel(filepath.Join(dir, "one", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var d, m float64
	for i := range b {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		m = math.Max(m, math.Abs(float64(b[i])))
	}
	t.Logf("sam train on %d ranks --dist-eps global vs one process: max relative difference %.3g", c.Size(), d/m)
	if d/m > 1e-5 {
		t.Fatalf("max relative difference %.3g > 1e-5", d/m)
	}
	if ca.Ranks != c.Size() || ca.DistEps != "global" {
		t.Fatalf("the saved config records ranks %d, dist_eps %q", ca.Ranks, ca.DistEps)
	}
}

// TestMPIErrorOnOneRank: bad input on one rank only stops every rank with that rank's
// one-line message and exit status 2, and nothing is written.
func TestMPIErrorOnOneRank(t *testing.T) {
	c := mpiWorld(t)
	dir := sharedDir(t, c)
	data := "digits"
	if c.Rank() == 1 {
		data = "csv:" + filepath.Join(dir, "missing.csv")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"train", "--data", data, "--epochs", "1", "--out", filepath.Join(dir, "run")}, &out, &errb)
	msg := strings.TrimSpace(errb.String())
	want := "sam: data: open " + filepath.Join(dir, "missing.csv")
	if code != 2 || !strings.HasPrefix(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("rank %d: exit %d, stderr %q; want 2 and one line starting %q", c.Rank(), code, msg, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "run")); err == nil {
		t.Errorf("rank %d: the output folder was created", c.Rank())
	}
	// A diverging loss stops every rank at the same step with exit status 1.
	out.Reset()
	errb.Reset()
	code = run(context.Background(), strings.Fields(fmt.Sprintf("train --data digits --opt sgd --lr 1e30 --steps 20 --quiet --out %s", filepath.Join(dir, "nan"))), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "training diverged at step") {
		t.Errorf("rank %d: exit %d, stderr %q", c.Rank(), code, errb.String())
	}
}
