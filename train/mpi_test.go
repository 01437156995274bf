//go:build mpi

package train

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// These tests run under mpirun -np 2 (see .ci/run): go test -c -tags mpi ./train, then
// mpirun -np 2 ./train.test -test.run MPI. With one rank they skip.

var world dist.Comm

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

func ranks(t *testing.T) dist.Comm {
	t.Helper()
	if world.Size() < 2 {
		t.Skip("one rank: run this test binary under mpirun -np 2")
	}
	tensor.SetThreads(1)
	return world
}

// checksums gathers every rank's weight checksum (a collective).
func checksums(c dist.Comm, w []float32) []uint64 {
	v := make([]float64, 2*c.Size())
	s := dist.Checksum(w)
	v[2*c.Rank()], v[2*c.Rank()+1] = float64(s>>32), float64(s&0xffffffff)
	c.AllReduce64(v, dist.Sum)
	out := make([]uint64, c.Size())
	for r := range out {
		out[r] = uint64(v[2*r])<<32 | uint64(v[2*r+1])
	}
	return out
}

// TestMPIEqualsOneProcess: N ranks with --dist-eps global take one process's steps on the same
// global batch; with --dist-eps local those of one process with --m the per-rank batch; with
// --accum the same again; every rank ends with the same weights (checksums).
func TestMPIEqualsOneProcess(t *testing.T) {
	c := ranks(t)
	per := 64 / c.Size()
	for _, tc := range []struct {
		name   string
		resnet bool
		mpi    func(c *Config)
		one    func(c *Config)
	}{
		{"mlp/global", false, func(x *Config) { x.DistEps = EpsGlobal }, func(x *Config) {}},
		{"mlp/local", false, func(x *Config) { x.DistEps = EpsLocal }, func(x *Config) { x.SAM.M = per }},
		{"mlp/global/rho0", false, func(x *Config) { x.DistEps = EpsGlobal; x.SAM.Rho = 0 }, func(x *Config) { x.SAM.Rho = 0 }},
		{"mlp/global/accum2-global", false, func(x *Config) { x.DistEps = EpsGlobal; x.Accum = 2 }, func(x *Config) {}},
		{"mlp/local/accum2-local", false, func(x *Config) { x.DistEps = EpsLocal; x.Accum, x.AccumEps = 2, EpsLocal }, func(x *Config) { x.SAM.M = per / 2 }},
		{"mlp/local/accum2-global", false, func(x *Config) { x.DistEps = EpsLocal; x.Accum = 2 }, func(x *Config) { x.SAM.M = per }},
		// BatchNorm: each rank normalises with its own share's statistics, as m-sharpness's chunks do.
		{"resnet/local", true, func(x *Config) { x.DistEps = EpsLocal }, func(x *Config) { x.SAM.M = per }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := distDigits(tc.resnet)
			if tc.resnet {
				x.Steps = 2 // the ResNet's steps are slow on a shared CPU
			}
			tc.mpi(x)
			x.Comm = c
			got := runConfig(t, x)
			y := distDigits(tc.resnet)
			y.Steps = x.Steps
			tc.one(y)
			want := runConfig(t, y)
			rel := maxRel(got.Weights, want.Weights)
			sums := checksums(c, got.Weights)
			if c.Rank() == 0 {
				t.Logf("%s: %d ranks vs one process: max relative difference %.3g after %d steps; checksums %x", tc.name, c.Size(), rel, got.Summary.Steps, sums)
			}
			if rel > 1e-5 {
				t.Errorf("rank %d: max relative difference %.3g > 1e-5", c.Rank(), rel)
			}
			for r, s := range sums {
				if s != sums[0] {
					t.Errorf("rank %d's weights differ from rank 0's (checksums %x, %x)", r, s, sums[0])
				}
			}
			if got.Summary.Config.Ranks != c.Size() || got.Summary.Config.DistEps != x.DistEps {
				t.Errorf("summary records ranks %d, dist_eps %q", got.Summary.Config.Ranks, got.Summary.Config.DistEps)
			}
			if tc.resnet { // the running averages are averaged over the ranks: the same on every rank
				for _, b := range got.Model.Buffers() {
					if s := checksums(c, b.Data); s[0] != s[len(s)-1] {
						t.Errorf("%s differs between ranks", b.Name)
					}
				}
			}
		})
	}
}

// TestMPIOutputsOnRankZero: only rank 0 writes; all ranks return the same result.
func TestMPIOutputsOnRankZero(t *testing.T) {
	c := ranks(t)
	out := fmt.Sprintf("%s/rank%d", t.TempDir(), c.Rank())
	x := distDigits(false)
	x.Comm = c
	if err := x.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := Prepare(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(x, d, out, "", Observer{}); err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(out + "/summary.json")
	if (c.Rank() == 0) != (err == nil) {
		t.Fatalf("rank %d: summary.json exists: %v", c.Rank(), err == nil)
	}
}

// TestMPIVariants: every member of the family trains on N ranks with --dist-eps local, and the
// ranks end with the same weights.
func TestMPIVariants(t *testing.T) {
	c := ranks(t)
	for _, m := range sam.Members() {
		x := distDigits(false)
		x.Steps = 5
		x.SAM.Variant = m.Name
		for _, p := range m.Params {
			x.SAM = x.SAM.With(p.Name, p.Default)
			if p.FollowsRho {
				x.SAM = x.SAM.With(p.Name, x.SAM.Rho)
			}
		}
		if m.Seeded {
			x.SAM.Seed = x.Seed
		}
		x.DistEps, x.Comm = EpsLocal, c
		if err := x.Validate(); err != nil { // a member that refuses this base optimizer (bsam)
			t.Logf("%s: refused: %v", m.Name, err)
			continue
		}
		d, err := Prepare(x)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(x, d, "", "", Observer{})
		if err != nil {
			// Members that move the weights themselves are refused data-parallel, on every rank.
			if !strings.Contains(err.Error(), "does not run data-parallel") {
				t.Errorf("%s: %v", m.Name, err)
			}
			t.Logf("%s: refused: %v", m.Name, err)
			continue
		}
		sums := checksums(c, res.Weights)
		if sums[0] != sums[len(sums)-1] || res.Summary.TrainLoss == nil {
			t.Errorf("%s: checksums %x, train loss %v", m.Name, sums, res.Summary.TrainLoss)
		}
	}
}

// TestMPIAccumGhost: on N ranks, --accum 4 --accum-eps global on the BatchNorm ResNet is the
// un-accumulated step with --bn-ghost-batch per-rank batch/4 (weights and the running
// statistics, which are averaged over the ranks); with --dist-eps global its weights are also
// one process's with that ghost batch over the whole batch (whose ghost batches are the ranks'
// micro-batches, in rank order).
func TestMPIAccumGhost(t *testing.T) {
	c := ranks(t)
	per := 64 / c.Size()
	run := func(comm dist.Comm, mutate func(x *Config)) *Result {
		x := distDigits(true)
		x.Steps, x.DistEps, x.Comm = 2, EpsGlobal, comm
		if comm == nil {
			x.DistEps = ""
		}
		mutate(x)
		return runConfig(t, x)
	}
	acc := run(c, func(x *Config) { x.Accum = 4 })
	ghost := run(c, func(x *Config) { x.BNGhost = per / 4 })
	one := run(nil, func(x *Config) { x.BNGhost = per / 4 })
	rel, brel := maxRel(acc.Weights, ghost.Weights), maxRel(buffers(acc.Model), buffers(ghost.Model))
	rel1 := maxRel(acc.Weights, one.Weights)
	if c.Rank() == 0 {
		t.Logf("resnet, %d ranks, --accum 4 --accum-eps global vs --bn-ghost-batch %d: max relative difference %.3g (weights), %.3g (running statistics); vs one process with --bn-ghost-batch %d: %.3g (weights)", c.Size(), per/4, rel, brel, per/4, rel1)
	}
	if rel > 1e-5 || brel > 1e-5 || rel1 > 1e-5 {
		t.Errorf("rank %d: max relative differences %.3g, %.3g, %.3g > 1e-5", c.Rank(), rel, brel, rel1)
	}
	if s := checksums(c, acc.Weights); s[0] != s[len(s)-1] {
		t.Errorf("the ranks' weights differ: checksums %x", s)
	}
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

// TestMPIResume: a data-parallel run resumed on every rank from its checkpoint after step 4
// (rank 0's file, with every rank's own state: dropout streams, BatchNorm statistics of the
// epoch so far, FriendlySAM's per-rank gradient average) ends with the weights, BatchNorm
// statistics and metrics of the uninterrupted run, bit for bit; one rank's state restored on
// every rank does not (the test can tell).
func TestMPIResume(t *testing.T) {
	c := ranks(t)
	dir := sharedDir(t, c)
	for _, tc := range []struct {
		name   string
		mutate func(x *Config)
	}{
		{"mlp-dropout-adam", func(x *Config) {
			x.Model.Dropout, x.Optimizer = 0.2, optim.Config{Name: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
			x.LR = 0.003
		}},
		{"resnet", func(x *Config) { *x = *distDigits(true); x.Steps = 7 }},
		{"friendlysam", func(x *Config) {
			x.SAM.Variant = "friendlysam"
			x.SAM = x.SAM.With("fsam-sigma", 1).With("fsam-lambda", 0.9)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := func() (*Config, *Data) {
				x := distDigits(false)
				tc.mutate(x)
				x.Comm = c
				if err := x.Validate(); err != nil {
					t.Fatal(err)
				}
				d, err := Prepare(x)
				if err != nil {
					t.Fatal(err)
				}
				return x, d
			}
			x, d := conf()
			ref := filepath.Join(dir, tc.name, "ref")
			want, err := Run(x, d, ref, "", Observer{})
			if err != nil {
				t.Fatal(err)
			}
			// The same run with checkpoints every 4 steps; rank 0 keeps the one of step 4.
			out, saved := filepath.Join(dir, tc.name, "ck"), filepath.Join(dir, tc.name, "step4.safetensors")
			x, d = conf()
			obs := Observer{Step: func(step int, _ float64) {
				if step == 5 { // written before step 5
					if b, err := os.ReadFile(filepath.Join(out, CheckpointFile)); err == nil {
						os.WriteFile(saved, b, 0o644)
					}
				}
			}}
			if _, err := RunWith(context.Background(), x, d, RunOptions{Out: out, CheckpointEvery: 4, Observer: obs}); err != nil {
				t.Fatal(err)
			}
			st, err := LoadTrainState(saved) // on every rank, after rank 0 wrote it (the run's collectives order them)
			if err != nil {
				t.Fatal(err)
			}
			if st.Step != 4 || st.Ranks() != c.Size() {
				t.Fatalf("checkpoint of step %d with %d ranks' state", st.Step, st.Ranks())
			}
			resumed := filepath.Join(dir, tc.name, "resumed")
			x, d = conf()
			got, err := RunWith(context.Background(), x, d, RunOptions{Out: resumed, Resume: st})
			if err != nil {
				t.Fatal(err)
			}
			same := slices.Equal(got.Weights, want.Weights) && slices.Equal(buffers(got.Model), buffers(want.Model))
			if !same {
				t.Errorf("rank %d: the resumed run's weights or BatchNorm statistics differ (max relative differences %.3g, %.3g)", c.Rank(), maxRel(got.Weights, want.Weights), maxRel(buffers(got.Model), buffers(want.Model)))
			}
			if c.Rank() == 0 {
				a, b := readNoSeconds(t, filepath.Join(ref, "metrics.jsonl")), readNoSeconds(t, filepath.Join(resumed, "metrics.jsonl"))
				if a != b {
					t.Errorf("metrics differ:\n%s\n%s", a, b)
				}
				t.Logf("%s: %d ranks, resumed at step 4 of %d: weights and BatchNorm statistics bit-identical %v; checkpoint %d other ranks", tc.name, c.Size(), want.Summary.Steps, same, len(st.Others))
			}
			// Every rank restoring rank 0's own state instead ends elsewhere.
			for i := range st.Others {
				o := &st.Others[i]
				o.RNG, o.EpochCorrect = st.RNG, st.EpochCorrect
				o.Opt, o.Same = optim.State{Numbers: st.Opt.Numbers, Words: st.Opt.Words}, slices.Sorted(maps.Keys(st.Opt.Vectors))
				o.Buffers = map[string][]float32{}
				for _, b := range st.Model.Buffers() {
					o.Buffers[b.Name] = b.Data
				}
			}
			x, d = conf()
			wrong, err := RunWith(context.Background(), x, d, RunOptions{Out: filepath.Join(dir, tc.name, "wrong"), Resume: st})
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(wrong.Weights, want.Weights) && slices.Equal(buffers(wrong.Model), buffers(want.Model)) {
				t.Errorf("rank %d: rank 0's state on every rank gave the same run: the test cannot tell", c.Rank())
			}
		})
	}
}
