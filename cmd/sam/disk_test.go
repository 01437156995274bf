package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samgo/sam/internal/atomic"
	"github.com/samgo/sam/train"
)

// mountTmpfs mounts a tmpfs of the given size (and options) at a new folder, or skips the test
// saying why (it needs root and mount permission).
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(dir, 0o755)
	if o, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, bytes.TrimSpace(o))
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// checkOneLine: exit status want, one line on stderr containing each fragment.
func checkOneLine(t *testing.T, code, want int, stderr string, frags ...string) {
	t.Helper()
	if code != want || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d (want %d), stderr %q", code, want, stderr)
	}
	for _, f := range frags {
		if !strings.Contains(stderr, f) {
			t.Fatalf("stderr %q lacks %q", stderr, f)
		}
	}
}

// TestUnwritableOut: an --out that cannot be created or written is one line with exit status 2
// before any training, for train and eval.
func TestUnwritableOut(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "file", "x")
	args := []string{"train", "--data", "iris", "--epochs", "1", "--quiet", "--out"}
	code, _, e := runSam(t, append(args, filepath.Join(file, "run"))...)
	checkOneLine(t, code, 2, e, "--out", "not a directory")
	if os.Geteuid() == 0 {
		ro := mountTmpfs(t, "size=1m,ro")
		code, _, e = runSam(t, append(args, filepath.Join(ro, "run"))...)
		checkOneLine(t, code, 2, e, "--out", "read-only file system")
		t.Logf("read-only --out: %s", strings.TrimSpace(e))
	}
}

// TestFullDisk: when the disk fills up, sam train stops with one line naming the file it could
// not write, the previous run's model.safetensors in the same --out is intact, and no
// temporary files are left behind.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "size=256k")
	out := filepath.Join(mnt, "run")
	args := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "8", "--epochs", "3", "--quiet", "--out", out}
	if code, _, e := runSam(t, args...); code != 0 {
		t.Fatal(e)
	}
	model := filepath.Join(out, "model.safetensors")
	good, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	// Fill the file system.
	fill, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := fill.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	fill.Close()
	code, _, e := runSam(t, append(args, "--hidden", "32", "--epochs", "5")...)
	checkOneLine(t, code, 1, e, "no space left on device", out)
	t.Logf("full disk: %s", strings.TrimSpace(e))
	if b, err := os.ReadFile(model); err != nil || !bytes.Equal(b, good) {
		t.Fatalf("model.safetensors changed after a failed run (err %v)", err)
	}
	if _, err := train.Load(model); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(out)
	for _, en := range ents {
		if strings.Contains(en.Name(), ".tmp-") {
			t.Fatalf("temporary file %s left behind", en.Name())
		}
	}
}

// TestHelperProcess is not a test: run by the SIGTERM tests in a child process, it writes
// files as they ask (SAM_HELPER=slow-write PATH: an atomic write that stalls halfway;
// SAM_HELPER=sam ARGS...: the sam command line).
func TestHelperProcess(t *testing.T) {
	switch os.Getenv("SAM_HELPER") {
	case "slow-write":
		path := os.Getenv("SAM_HELPER_PATH")
		atomic.WriteFile(path, func(w io.Writer) error {
			w.Write(bytes.Repeat([]byte("new "), 1<<18))
			if f, ok := w.(interface{ Flush() error }); ok {
				f.Flush()
			}
			fmt.Println("writing")
			select {} // until the signal
		})
		os.Exit(3)
	case "sam":
		var args []string
		json.Unmarshal([]byte(os.Getenv("SAM_HELPER_ARGS")), &args)
		os.Exit(run(context.Background(), args, io.Discard, os.Stderr))
	}
}

func helper(t *testing.T, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// TestSIGTERMDuringWrite: a process killed by SIGTERM in the middle of writing a file leaves
// the previous file intact (the new content only ever reaches a temporary file).
func TestSIGTERMDuringWrite(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir, "model.safetensors", "the previous, complete file")
	cmd := helper(t, "SAM_HELPER=slow-write", "SAM_HELPER_PATH="+path)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if !strings.Contains(line, "writing") {
		cmd.Process.Kill()
		t.Fatalf("helper said %q", line)
	}
	// Half of the new file is on disk now, in the temporary file.
	tmps, _ := filepath.Glob(filepath.Join(dir, ".model.safetensors.tmp-*"))
	if len(tmps) != 1 {
		t.Fatalf("temporary files %v", tmps)
	}
	if st, err := os.Stat(tmps[0]); err != nil || st.Size() == 0 {
		t.Fatalf("nothing written yet: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("helper ended with %v, want death by SIGTERM", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "the previous, complete file" {
		t.Fatalf("target holds %d bytes %.20q after SIGTERM", len(b), b)
	}
}

// TestSIGTERMDuringTraining: sam train killed by SIGTERM at several points of a run that
// rewrites metrics.jsonl every epoch leaves, every time, a metrics.jsonl of whole JSON lines
// and the previous run's model.safetensors (or the new one, complete).
func TestSIGTERMDuringTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts sam several times")
	}
	out := t.TempDir()
	base := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "8", "--batch-size", "full", "--quiet", "--out", out}
	if code, _, e := runSam(t, append(base, "--epochs", "2")...); code != 0 {
		t.Fatal(e)
	}
	model := filepath.Join(out, "model.safetensors")
	for _, delay := range []time.Duration{30 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		args, _ := json.Marshal(append(base, "--epochs", "100000"))
		cmd := helper(t, "SAM_HELPER=sam", "SAM_HELPER_ARGS="+string(args))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay) // a point in the run, not a timing assertion
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if _, err := train.Load(model); err != nil {
			t.Fatalf("after SIGTERM at %v: %v", delay, err)
		}
		b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		for i, l := range lines {
			var m train.Metrics
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("after SIGTERM at %v: metrics.jsonl line %d: %v", delay, i+1, err)
			}
		}
		t.Logf("SIGTERM after %v: %d whole metrics lines, model intact", delay, len(lines))
	}
}
