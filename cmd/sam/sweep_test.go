package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// digitsSweep is the acceptance grid: 4 ρ × 2 seeds × 3 folds on digits.
var digitsSweep = []string{"sweep", "--data", "digits", "--model", "mlp", "--hidden", "32", "--epochs", "3",
	"--rho", "0,0.02,0.05,0.1", "--seeds", "2", "--folds", "3", "--quiet"}

func TestSweepBadGrid(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "s")
	base := []string{"sweep", "--data", "iris", "--epochs", "1", "--hidden", "4", "--out", out}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"empty rho", []string{"--rho", ""}, "--rho: empty list"},
		{"empty entry", []string{"--rho", "0,,0.1"}, "--rho"},
		{"negative rho", []string{"--rho", "0,-0.05"}, "--rho"},
		{"duplicate rho", []string{"--rho", "0.1,0.1"}, "listed twice"},
		{"zero lr", []string{"--lr", "0,0.1"}, "--lr"},
		{"empty lr", []string{"--lr", ","}, "--lr"},
		{"negative l2", []string{"--l2", "-1"}, "--l2"},
		{"no seeds", []string{"--seeds", "0"}, "--seeds"},
		{"one fold", []string{"--folds", "1"}, "--folds"},
		{"folds and val", []string{"--folds", "3", "--val-fraction", "0.2"}, "--folds and --val-fraction"},
		{"too many folds", []string{"--folds", "500"}, "--folds: 500 folds but only 120"},
		{"no validation", []string{"--val-fraction", "0"}, "--val-fraction"},
		{"bad shard", []string{"--shard", "3/3"}, "--shard"},
		{"bad train flag", []string{"--opt", "rmsprop"}, "rmsprop"},
	} {
		code, stdout, stderr := runSam(t, append(append([]string{}, base...), tc.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%s: exit %d, stderr %q, want 2 and one line with %q", tc.name, code, stderr, tc.want)
		}
	}
	if code, _, stderr := runSam(t, "sweep", "--data", "iris"); code != 2 || !strings.Contains(stderr, "--out") {
		t.Errorf("no --out: %d %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused sweep wrote its folder")
	}
	// A different grid in an existing sweep folder.
	if code, _, stderr := runSam(t, append(base, "--rho", "0,0.1", "--folds", "2", "--quiet")...); code != 0 {
		t.Fatalf("sweep: %d %s", code, stderr)
	}
	code, _, stderr := runSam(t, append(base, "--rho", "0,0.2", "--folds", "2", "--quiet")...)
	if code != 2 || !strings.HasPrefix(stderr, "sam: --out "+out) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("changed grid: %d %q", code, stderr)
	}
	if code, _, stderr := runSam(t, "sweep", "merge", filepath.Join(dir, "nothing")); code == 0 || !strings.Contains(stderr, "no sweep") {
		t.Errorf("merge of an empty folder: %d %q", code, stderr)
	}
}

// buildSam compiles the command into a temporary folder.
func buildSam(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sam")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func runBin(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sam %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSweepProcesses: three shards as separate processes (one by --shard, one as a Slurm array
// task, one as a Kubernetes Indexed Job pod), then merge, give the files of an unsharded
// sweep; and a sweep killed part-way, rerun, has every trial exactly once.
func TestSweepProcesses(t *testing.T) {
	bin := buildSam(t)
	dir := t.TempDir()
	one, sh := filepath.Join(dir, "one"), filepath.Join(dir, "sharded")
	start := time.Now()
	runBin(t, bin, nil, append(digitsSweep, "--out", one)...)
	t.Logf("unsharded digits sweep: %v", time.Since(start))

	envs := [][]string{nil, {"SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_COUNT", "3"}, {"JOB_COMPLETION_INDEX", "2"}}
	var procs []*exec.Cmd
	var outs []*bytes.Buffer
	for i, e := range envs {
		args := append(append([]string{}, digitsSweep...), "--out", sh, "--workers", "1")
		env := []string{"SLURM_ARRAY_TASK_ID=", "SLURM_ARRAY_TASK_COUNT=", "JOB_COMPLETION_INDEX="}
		switch i {
		case 0:
			args = append(args, "--shard", "0/3")
		case 1:
			env = append(env, e[0]+"="+e[1], e[2]+"="+e[3])
		case 2:
			env = append(env, e[0]+"="+e[1])
			args = append(args, "--shards", "3")
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var b bytes.Buffer
		cmd.Stdout, cmd.Stderr = &b, &b
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs, outs = append(procs, cmd), append(outs, &b)
	}
	for i, p := range procs {
		if err := p.Wait(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, outs[i])
		}
		if !strings.Contains(outs[i].String(), "sam sweep merge") {
			t.Errorf("shard %d printed %q", i, outs[i])
		}
	}
	if n := len(globTrials(t, sh)); n != 24 {
		t.Fatalf("shards wrote %d trial files, want 24", n)
	}
	merged := runBin(t, bin, nil, "sweep", "merge", "--quiet", sh)
	for _, f := range []string{"results.json", "results.csv", "report.md", "sweep.json"} {
		a, _ := os.ReadFile(filepath.Join(one, f))
		b, _ := os.ReadFile(filepath.Join(sh, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between the unsharded and the merged sweep", f)
		}
	}
	if !strings.Contains(merged, "best: ρ") {
		t.Errorf("merge printed %q", merged)
	}

	// Kill part-way (SIGKILL: no clean-up at all), then rerun.
	killed := filepath.Join(dir, "killed")
	args := append(append([]string{}, digitsSweep...), "--out", killed, "--workers", "2", "--epochs", "20", "--hidden", "128,128")
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(globTrials(t, killed)) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	part := len(globTrials(t, killed))
	if part >= 24 {
		t.Skipf("the sweep finished (%d trials) before it could be killed", part)
	}
	out := runBin(t, bin, nil, append(append([]string{}, args...), "--quiet=false")...)
	if !strings.Contains(out, "already done") {
		t.Errorf("rerun did not resume: %s", out)
	}
	ids := map[string]bool{}
	cv := 0
	for _, f := range globTrials(t, killed) {
		b, _ := os.ReadFile(f)
		var r struct{ ID, Kind string }
		if err := json.Unmarshal(b, &r); err != nil || ids[r.ID] || filepath.Base(f) != r.ID+".json" {
			t.Fatalf("%s: %v (duplicate %v)", f, err, ids[r.ID])
		}
		ids[r.ID] = true
		if r.Kind == "cv" {
			cv++
		}
	}
	var res struct{ Trials []struct{ ID string } }
	b, _ := os.ReadFile(filepath.Join(killed, "results.json"))
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if cv != 24 || len(res.Trials) != len(ids) {
		t.Errorf("after kill and rerun: %d validation trials (want 24), results list %d of %d trial files", cv, len(res.Trials), len(ids))
	}
	t.Logf("killed after %d of 24 trials; the rerun completed the sweep", part)
}

func globTrials(t *testing.T, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, "trials", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
