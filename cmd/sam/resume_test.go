package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/samgo/sam/train"
)

// TestResumeHelper is not a test: run by the resume tests in a child process, it runs the sam
// command line SAM_RESUME_ARGS (JSON; or the arguments after --) with main's signal handling, and after step
// SAM_RESUME_PAUSE prints "paused" and waits for a signal (SIGKILL ends it there; SIGTERM and
// SIGINT let it finish the step and write its checkpoint).
func TestResumeHelper(t *testing.T) {
	if os.Getenv("SAM_RESUME_HELPER") == "" {
		return
	}
	var args []string
	json.Unmarshal([]byte(os.Getenv("SAM_RESUME_ARGS")), &args)
	if args == nil {
		args = flag.Args()
	}
	pause, _ := strconv.Atoi(os.Getenv("SAM_RESUME_PAUSE"))
	ctx, stop := signalContext()
	testStepHook = func(step int) {
		if step == pause {
			os.Stdout.WriteString("paused\n")
			<-ctx.Done()
			if os.Getenv("SAM_RESUME_HANG") != "" { // a step that takes forever after the signal
				os.Stdout.WriteString("stopping\n")
				select {}
			}
		}
	}
	code := run(ctx, args, io.Discard, os.Stderr)
	stop()
	os.Exit(code)
}

// startPaused starts sam ARGS in a child process and returns once it is paused after step pause.
func startPaused(t *testing.T, pause int, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	js, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeHelper$")
	cmd.Env = append(os.Environ(), "SAM_RESUME_HELPER=1", "SAM_RESUME_ARGS="+string(js), "SAM_RESUME_PAUSE="+strconv.Itoa(pause))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "paused\n" {
		cmd.Wait()
		t.Fatalf("sam %v did not pause at step %d: %q, stderr %s", args, pause, line, stderr.String())
	}
	return cmd, &stderr
}

// killAt runs sam ARGS in a child process and kills it with SIGKILL after step pause.
func killAt(t *testing.T, pause int, args ...string) {
	t.Helper()
	cmd, _ := startPaused(t, pause, args...)
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("sam ended with %v, want death by SIGKILL", err)
	}
}

var wallClock = regexp.MustCompile(`("(?:wall_)?seconds": ?)[-0-9.e+]+`)

// sameOutputs: the final weights (model.safetensors, byte for byte and bit for bit), the
// metrics and the summary of two run folders agree, but for the wall-clock seconds.
func sameOutputs(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(filepath.Join(want, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(got, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := train.Load(filepath.Join(want, "model.safetensors"))
	cb, err := train.Load(filepath.Join(got, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ca.Weights {
		if math.Float32bits(ca.Weights[i]) != math.Float32bits(cb.Weights[i]) {
			t.Fatalf("weight %d: %g resumed, %g uninterrupted", i, cb.Weights[i], ca.Weights[i])
		}
	}
	if !bytes.Equal(a, b) {
		t.Fatal("model.safetensors differs (the buffers or the metadata)")
	}
	for _, f := range []string{"metrics.jsonl", "summary.json"} {
		a, _ := os.ReadFile(filepath.Join(want, f))
		b, err := os.ReadFile(filepath.Join(got, f))
		if err != nil {
			t.Fatal(err)
		}
		if x, y := wallClock.ReplaceAll(a, []byte("${1}0")), wallClock.ReplaceAll(b, []byte("${1}0")); !bytes.Equal(x, y) {
			t.Fatalf("%s differs:\n%s\nresumed:\n%s", f, x, y)
		}
	}
}

// resumeRuns are the runs the SIGKILL test interrupts: 15 steps of 5 per epoch (the ResNet: 9
// of 3), drawing from every random stream (dropout; augmentation for the ResNet; ESAM's masks).
var resumeRuns = map[string][]string{
	"mlp-sam":     {"--model", "mlp", "--hidden", "16", "--dropout", "0.2", "--lr", "0.003", "--schedule", "cosine"},
	"resnet-sam":  {"--model", "resnet", "--opt", "sgd", "--momentum", "0.9", "--lr", "0.05", "--augment", "crop,flip", "--crop-pad", "1", "--train-size", "128"},
	"mlp-looksam": {"--model", "mlp", "--hidden", "16", "--variant", "looksam", "--looksam-k", "3"},
	"mlp-esam":    {"--model", "mlp", "--hidden", "16", "--dropout", "0.2", "--variant", "esam", "--esam-gamma", "0.5"},
}

// TestResumeAfterSIGKILL: `sam train` killed with SIGKILL at three points (mid-epoch after a
// checkpoint, between checkpoints, and at an epoch's end before its metrics line and
// checkpoint; the later two in resumed runs), resumed with --resume alone and with the run's own flags, ends with the weights,
// metrics and summary of the uninterrupted run, bit for bit; for an MLP and a BatchNorm ResNet
// with SAM, and for LookSAM and ESAM (γ = 0.5).
func TestResumeAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts sam 16 times")
	}
	for name, extra := range resumeRuns {
		t.Run(name, func(t *testing.T) {
			base := append([]string{"train", "--data", "digits", "--train-size", "200", "--epochs", "3", "--seed", "5", "--quiet"}, extra...)
			kills := []int{3, 8, 10} // of 15 steps, 5 per epoch
			if strings.Contains(name, "resnet") {
				kills = []int{3, 6, 8} // of 9 steps, 3 per epoch
			}
			ref := filepath.Join(t.TempDir(), "ref")
			if code, _, e := runSam(t, append(base, "--out", ref)...); code != 0 {
				t.Fatal(e)
			}
			out := filepath.Join(t.TempDir(), "run")
			run := append(base, "--out", out, "--checkpoint-every", "2")
			killAt(t, kills[0], run...)
			killAt(t, kills[1], "train", "--resume", out, "--checkpoint-every", "2")
			st, err := train.LoadTrainState(out)
			if err != nil {
				t.Fatal(err)
			}
			if want := (kills[1] - 1) / 2 * 2; st.Step != want {
				t.Fatalf("checkpoint of step %d after the kill at step %d, want %d", st.Step, kills[1], want)
			}
			killAt(t, kills[2], append(run, "--resume", out)...)
			if code, _, e := runSam(t, "train", "--resume", out, "--quiet"); code != 0 {
				t.Fatal(e)
			}
			sameOutputs(t, ref, out)
			if _, err := os.Stat(filepath.Join(out, train.CheckpointFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the finished run's checkpoint is still there: %v", err)
			}
			t.Logf("%s: SIGKILL after steps %v of %d, resumed: model.safetensors, metrics.jsonl and summary.json (but seconds) identical", name, kills, st.Total)
		})
	}
}

// TestResumeAfterSIGTERM: SIGTERM (and SIGINT) in the middle of a run finish the step, write
// the checkpoint and exit with status 143 (130) and one line saying how to continue; the
// resumed run ends as the uninterrupted one.
func TestResumeAfterSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts sam")
	}
	base := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "8", "--epochs", "20", "--batch-size", "16", "--quiet"}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, e := runSam(t, append(base, "--out", ref)...); code != 0 {
		t.Fatal(e)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		out := filepath.Join(t.TempDir(), "run")
		cmd, stderr := startPaused(t, 17, append(base, "--out", out)...)
		cmd.Process.Signal(sig)
		cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		checkOneLine(t, code, 128+int(sig), stderr.String(), "step 17 of", "sam train --resume "+out, "stopped by "+map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[sig])
		t.Logf("%v: exit %d, %s", sig, code, strings.TrimSpace(stderr.String()))
		st, err := train.LoadTrainState(out)
		if err != nil || st.Step != 17 {
			t.Fatalf("checkpoint %v, %v", st, err)
		}
		// Without --resume the run folder is not overwritten.
		c, _, e := runSam(t, append(base, "--out", out)...)
		checkOneLine(t, c, 2, e, "unfinished run", "--resume "+out)
		if c, _, e := runSam(t, "train", "--resume", out, "--quiet"); c != 0 {
			t.Fatal(e)
		}
		sameOutputs(t, ref, out)
	}
}

// TestResumeRefusals: a missing or corrupt checkpoint and changed flags are one line, exit 2;
// the safe flags may change.
func TestResumeRefusals(t *testing.T) {
	base := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "8", "--epochs", "3", "--batch-size", "16", "--lr", "0.01", "--quiet"}
	dir := t.TempDir()
	code, _, e := runSam(t, "train", "--resume", dir)
	checkOneLine(t, code, 2, e, "--resume", "no checkpoint", dir)
	bad := write(t, dir, train.CheckpointFile, "not a checkpoint at all")
	code, _, e = runSam(t, "train", "--resume", dir)
	checkOneLine(t, code, 2, e, "--resume", bad)
	code, _, e = runSam(t, "train", "--data", "iris", "--epochs", "1", "--checkpoint-every", "-1")
	checkOneLine(t, code, 2, e, "--checkpoint-every")

	// A checkpoint to resume: the run stopped as by SIGINT after its first step.
	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancelCause(context.Background())
	testStepHook = func(s int) {
		if s == 1 {
			cancel(signalCause{os.Interrupt})
		}
	}
	var o, eb bytes.Buffer
	code = run(ctx, append(base, "--out", out), &o, &eb)
	testStepHook = nil
	checkOneLine(t, code, 130, eb.String(), "step 1 of", "stopped by SIGINT")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--lr", "0.02"}, "--lr changes the run (lr is 0.02 here, 0.01 in the checkpoint)"},
		{[]string{"--epochs", "3", "--hidden", "9"}, "--hidden changes the run (model.hidden is [9] here, [8] in the checkpoint)"},
		{[]string{"--data", "wine"}, "--data changes the run"},
		{[]string{"--rho", "0.1"}, "--rho changes the run (sam.rho"},
		{[]string{"--opt", "sgd"}, "--opt changes the run (optimizer"},
	} {
		code, _, e := runSam(t, append([]string{"train", "--resume", out}, tc.args...)...)
		checkOneLine(t, code, 2, e, tc.want)
	}
	// The run's own flags, given again, and the safe ones are accepted.
	if code, _, e := runSam(t, append(base, "--resume", out, "--threads", "1", "--checkpoint-every", "5")...); code != 0 {
		t.Fatal(e)
	}
}

// TestCheckpointFullDisk: when a checkpoint cannot be written (the disk is full), training
// stops with one line naming the file, the last good checkpoint is kept whole with no
// temporary file left, and resuming it elsewhere ends as the uninterrupted run.
func TestCheckpointFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "size=720k")
	// A checkpoint of about 470 kB (weights and Adam's two moments): one fits, two do not.
	base := []string{"train", "--data", "digits", "--model", "mlp", "--hidden", "512", "--steps", "10", "--batch-size", "64", "--quiet"}
	out := filepath.Join(mnt, "run")
	code, _, e := runSam(t, append(base, "--out", out, "--checkpoint-every", "2")...)
	checkOneLine(t, code, 1, e, "checkpoint at step 4", "no space left on device", "the checkpoint of step 2 is kept", filepath.Join(out, train.CheckpointFile))
	t.Logf("full disk: %s", strings.TrimSpace(e))
	st, err := train.LoadTrainState(out)
	if err != nil || st.Step != 2 {
		t.Fatalf("kept checkpoint: %v, %v", st, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(out, ".*.tmp-*")); len(tmps) > 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
	moved := filepath.Join(t.TempDir(), "moved")
	os.Mkdir(moved, 0o755)
	b, _ := os.ReadFile(st.Path)
	write(t, moved, train.CheckpointFile, string(b))
	if code, _, e := runSam(t, "train", "--resume", moved, "--quiet"); code != 0 {
		t.Fatal(e)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, e := runSam(t, append(base, "--out", ref)...); code != 0 {
		t.Fatal(e)
	}
	sameOutputs(t, ref, moved)
}

// TestSlurmTrainRecipe: deploy/slurm/train.sbatch, signalled as Slurm does (SIGTERM to the job's
// processes), requeues the job after sam wrote its checkpoint; the requeued script resumes,
// and the run ends as an uninterrupted one.
func TestSlurmTrainRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts bash and sam")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	wrapper := write(t, dir, "sam", "#!/bin/sh\nexec \"$SAM_TEST_BIN\" -test.run='^TestResumeHelper$' -- \"$@\"\n")
	os.Chmod(wrapper, 0o755)
	scontrol := write(t, dir, "scontrol", "#!/bin/sh\necho \"$@\" >> \"$SCONTROL_LOG\"\n")
	os.Chmod(scontrol, 0o755)
	args := "--data iris --model mlp --hidden 8 --epochs 20 --batch-size 16 --quiet"
	ref := filepath.Join(dir, "ref")
	if code, _, e := runSam(t, append(strings.Fields("train "+args), "--out", ref)...); code != 0 {
		t.Fatal(e)
	}
	out, logf := filepath.Join(dir, "run"), filepath.Join(dir, "scontrol.log")
	job := func(pause int) *exec.Cmd {
		cmd := exec.Command(bash, "../../deploy/slurm/train.sbatch")
		cmd.Env = append(os.Environ(), "SAM_RESUME_HELPER=1", "SAM_TEST_BIN="+os.Args[0], "SAM="+wrapper,
			"SRUN=", "SCONTROL="+scontrol, "SCONTROL_LOG="+logf, "SLURM_JOB_ID=42", "OUT="+out,
			"TRAIN_ARGS="+args, "EVERY=50", "SAM_RESUME_PAUSE="+strconv.Itoa(pause))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	cmd := job(70)
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "paused\n" {
		cmd.Wait()
		t.Fatalf("the job said %q, stderr %s", line, stderr.String())
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // the whole job: the script and sam
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Fatalf("job exit %d, stderr %s", code, stderr.String())
	}
	if b, _ := os.ReadFile(logf); string(b) != "requeue 42\n" {
		t.Fatalf("scontrol got %q", b)
	}
	if st, err := train.LoadTrainState(out); err != nil || st.Step != 70 {
		t.Fatalf("checkpoint %v %v", st, err)
	}
	again := job(0)
	if o, err := again.CombinedOutput(); err != nil {
		t.Fatalf("requeued job: %v %s", err, o)
	}
	sameOutputs(t, ref, out)
	t.Logf("SIGTERM at step 70: exit 143, scontrol requeue 42; the requeued job resumed and matched the uninterrupted run")
}

// TestSweepSignalExit: a sweep stopped by SIGTERM exits with status 143 and one line.
func TestSweepSignalExit(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(signalCause{syscall.SIGTERM})
	var o, e bytes.Buffer
	out := filepath.Join(t.TempDir(), "sweep")
	code := run(ctx, []string{"sweep", "--data", "iris", "--rho", "0,0.05", "--epochs", "1", "--quiet", "--checkpoint-every", "3", "--out", out}, &o, &e)
	checkOneLine(t, code, 143, e.String(), "interrupted", "rerun the same command to resume")
	code = run(context.Background(), []string{"sweep", "--data", "iris", "--checkpoint-every", "-2", "--out", out}, &o, &e)
	if code != 2 {
		t.Fatalf("--checkpoint-every -2: exit %d", code)
	}
}

// TestResumeRandomKills: SIGKILL at arbitrary moments (after a few milliseconds each time, so
// also in the middle of checkpoint writes: --checkpoint-every 1), each time continued as a job
// script would (--resume when a checkpoint is there, else from the start), ends as the
// uninterrupted run. The kill points are not timing assertions: any point must do.
func TestResumeRandomKills(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts sam several times")
	}
	base := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "32", "--dropout", "0.1", "--epochs", "60", "--batch-size", "8", "--quiet"}
	ref := filepath.Join(t.TempDir(), "ref")
	if code, _, e := runSam(t, append(base, "--out", ref)...); code != 0 {
		t.Fatal(e)
	}
	out := filepath.Join(t.TempDir(), "run")
	ck := filepath.Join(out, train.CheckpointFile)
	killed, midWrite := 0, 0
	var steps []int // the checkpoint's step after each kill
	for _, ms := range []int{30, 60, 10, 90, 45, 120} {
		args := append(base, "--out", out, "--checkpoint-every", "1")
		if _, err := os.Stat(ck); err == nil {
			args = append(args, "--resume", out)
		}
		js, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^TestResumeHelper$")
		cmd.Env = append(os.Environ(), "SAM_RESUME_HELPER=1", "SAM_RESUME_ARGS="+string(js))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond) // a point in the run
		tmps, _ := filepath.Glob(filepath.Join(out, ".*.tmp-*"))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
			killed++
			if len(tmps) > 0 {
				midWrite++
			}
			if st, err := train.LoadTrainState(out); err == nil {
				steps = append(steps, st.Step)
			} else {
				steps = append(steps, -1) // killed before its first checkpoint
			}
			continue
		}
		if err != nil {
			t.Fatalf("sam %v: %v %s", args, err, stderr.String())
		}
		break // it finished before the kill
	}
	if _, err := os.Stat(ck); err == nil {
		if code, _, e := runSam(t, append(base, "--out", out, "--resume", out)...); code != 0 {
			t.Fatal(e)
		}
	} else if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		if code, _, e := runSam(t, append(base, "--out", out)...); code != 0 {
			t.Fatal(e)
		}
	}
	sameOutputs(t, ref, out)
	if tmps, _ := filepath.Glob(filepath.Join(out, ".*.tmp-*")); len(tmps) > 1 {
		t.Fatalf("temporary files pile up: %v", tmps)
	}
	t.Logf("%d SIGKILLs landed (%d with a checkpoint write in flight just before), checkpoints then at steps %v of 840; resumed each time: identical to the uninterrupted run", killed, midWrite, steps)
}

// TestSecondSignal: a second SIGTERM while the first one's step is still running ends sam at
// once, by the signal, and the previous checkpoint stays whole.
func TestSecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts sam")
	}
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--data", "iris", "--model", "mlp", "--hidden", "8", "--epochs", "5", "--checkpoint-every", "4", "--quiet", "--out", out}
	js, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestResumeHelper$")
	cmd.Env = append(os.Environ(), "SAM_RESUME_HELPER=1", "SAM_RESUME_ARGS="+string(js), "SAM_RESUME_PAUSE=6", "SAM_RESUME_HANG=1")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	if l, _ := r.ReadString('\n'); l != "paused\n" {
		t.Fatalf("helper said %q", l)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if l, _ := r.ReadString('\n'); l != "stopping\n" {
		t.Fatalf("helper said %q", l)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("sam ended with %v, want death by the second SIGTERM", err)
	}
	if st, err := train.LoadTrainState(out); err != nil || st.Step != 4 {
		t.Fatalf("checkpoint %v %v, want the one of step 4", st, err)
	}
}
