package dist_test

import (
	"errors"
	"testing"

	"github.com/samgo/sam/dist"
)

func TestSingle(t *testing.T) {
	var c dist.Comm = dist.Single{}
	x := []float32{1, 2}
	c.AllReduce32(x, dist.Mean)
	if c.Rank() != 0 || c.Size() != 1 || x[0] != 1 || x[1] != 2 {
		t.Fatalf("single: rank %d size %d x %v", c.Rank(), c.Size(), x)
	}
	if err := dist.Agree(c, nil, 2); err != nil {
		t.Fatal(err)
	}
	err := dist.Agree(c, errors.New("--data: no such file"), 2)
	var ag *dist.Agreed
	if !errors.As(err, &ag) || ag.Msg != "--data: no such file" || ag.Code != 2 {
		t.Fatalf("Agree: %v", err)
	}
	if again := dist.Agree(c, err, 1); again != ag {
		t.Fatalf("an agreed error must pass through, got %v", again)
	}
	if !dist.Same(c, 42) {
		t.Fatal("Same on one rank")
	}
	if g := dist.GatherBytes(c, []byte("rank 0")); len(g) != 1 || string(g[0]) != "rank 0" {
		t.Fatalf("GatherBytes on one rank: %q", g)
	}
}

func TestChecksum(t *testing.T) {
	a := []float32{1, 2, 3}
	b := []float32{1, 2, 3}
	if dist.Checksum(a) != dist.Checksum(b) {
		t.Fatal("equal vectors, different checksums")
	}
	b[2] = 3.0000002 // one ulp
	if dist.Checksum(a) == dist.Checksum(b) {
		t.Fatal("a one-ulp change kept the checksum")
	}
}
