//go:build mpi

package dist_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/samgo/sam/dist"
)

var world dist.Comm

// TestMain opens MPI once for the package's tests (run them under mpirun -np 2).
func TestMain(m *testing.M) {
	c, err := dist.World()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	world = c
	code := m.Run()
	c.Close()
	os.Exit(code)
}

func multi(t *testing.T) dist.Comm {
	if world.Size() < 2 {
		t.Skip("one rank: run the test binary under mpirun -np 2 (see .ci/run)")
	}
	return world
}

func TestMPICollectives(t *testing.T) {
	c := multi(t)
	r, n := float32(c.Rank()), float32(c.Size())
	x := []float32{r, 1, 2 * r}
	c.AllReduce32(x, dist.Sum)
	want := n * (n - 1) / 2
	if x[0] != want || x[1] != n || x[2] != 2*want {
		t.Fatalf("rank %d: sum %v, want [%g %g %g]", c.Rank(), x, want, n, 2*want)
	}
	y := []float64{float64(c.Rank()), 3}
	c.AllReduce64(y, dist.Mean)
	if y[0] != float64(want)/float64(n) || y[1] != 3 {
		t.Fatalf("rank %d: mean %v", c.Rank(), y)
	}
	z := []float64{float64(c.Rank())}
	c.AllReduce64(z, dist.Max)
	if z[0] != float64(n-1) {
		t.Fatalf("rank %d: max %v", c.Rank(), z)
	}
	b := []float32{r, r}
	c.Bcast32(b, 1)
	if b[0] != 1 || b[1] != 1 {
		t.Fatalf("rank %d: bcast from 1 gave %v", c.Rank(), b)
	}
}

func TestMPIAgree(t *testing.T) {
	c := multi(t)
	if err := dist.Agree(c, nil, 2); err != nil {
		t.Fatalf("rank %d: all fine, got %v", c.Rank(), err)
	}
	var err error
	if c.Rank() >= 1 { // every rank but 0 fails; rank 1's message wins
		err = fmt.Errorf("--data: rank %d cannot read the file", c.Rank())
	}
	got := dist.Agree(c, err, 2)
	var ag *dist.Agreed
	if !errors.As(got, &ag) || ag.Msg != "--data: rank 1 cannot read the file" || ag.Code != 2 || ag.Rank != 1 {
		t.Fatalf("rank %d: Agree gave %#v", c.Rank(), got)
	}
}

func TestMPISame(t *testing.T) {
	c := multi(t)
	if !dist.Same(c, 0xdeadbeefcafe) {
		t.Fatal("equal checksums reported different")
	}
	if dist.Same(c, uint64(c.Rank())<<40) {
		t.Fatal("different checksums reported equal")
	}
}

func TestMPIGatherBytes(t *testing.T) {
	c := multi(t)
	mine := []byte(strings.Repeat("x", c.Rank()) + fmt.Sprintf("rank %d", c.Rank())) // lengths differ
	if c.Rank() == 1 {
		mine = nil // an empty part
	}
	g := dist.GatherBytes(c, mine)
	for r, b := range g {
		want := strings.Repeat("x", r) + fmt.Sprintf("rank %d", r)
		if r == 1 {
			want = ""
		}
		if string(b) != want {
			t.Fatalf("rank %d: part %d is %q, want %q", c.Rank(), r, b, want)
		}
	}
}
