package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUIBadInput: a missing folder, a file, a bad address, a taken port or a bad --poll exit 2
// with one line naming the problem.
func TestUIBadInput(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "f.txt", "x")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Chdir(dir) // no runs/ here
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ui"}, "runs: no such directory"},
		{[]string{"ui", filepath.Join(dir, "nope")}, "nope: no such directory"},
		{[]string{"ui", file}, "f.txt: not a directory"},
		{[]string{"ui", dir, "--addr", "6006"}, "--addr: want HOST:PORT"},
		{[]string{"ui", dir, "--addr", ln.Addr().String()}, "--addr " + ln.Addr().String()},
		{[]string{"ui", dir, "--poll", "0s"}, "--poll: must be > 0"},
		{[]string{"ui", dir, "--poll", "often"}, "--poll"},
	} {
		code, stdout, stderr := runSam(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 || stdout != "" {
			t.Errorf("sam %s: exit %d, stdout %q, stderr %q; want 2 and one line with %q", strings.Join(tc.args, " "), code, stdout, stderr, tc.want)
		}
	}
}

// TestUIServe starts `sam ui` on an ephemeral loopback port, reads the URL it prints, asks the
// API and stops it by cancelling the context (as Ctrl-C does), with an event stream open.
func TestUIServe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "runs")
	os.MkdirAll(filepath.Join(dir, "r"), 0o755)
	write(t, filepath.Join(dir, "r"), "metrics.jsonl", `{"epoch":1,"step":5,"train_loss":1.5,"lr":0.1,"seconds":0.1}`+"\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"ui", dir, "--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 2 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	go io.Copy(io.Discard, pr)
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "sam ui: serving "+dir+" at http://127.0.0.1:") || !strings.Contains(lines[1], "bound to loopback") {
		t.Fatalf("sam ui printed %q", lines)
	}
	u := lines[0][strings.Index(lines[0], "http://"):]
	res, err := http.Get(u + "api/runs")
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct{ ID, Status string }
	err = json.NewDecoder(res.Body).Decode(&runs)
	res.Body.Close()
	if err != nil || len(runs) != 1 || runs[0].ID != "runs/r" || runs[0].Status != "running" {
		t.Fatalf("api/runs: %v %+v", err, runs)
	}
	ev, err := http.Get(u + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after Ctrl-C, want 0", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sam ui did not stop within 5 s of the cancel")
	}
}
