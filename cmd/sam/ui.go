package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/ui"
)

func newUICmd(stdout, stderr io.Writer) *cobra.Command {
	var addr string
	var poll time.Duration
	cmd := &cobra.Command{
		Use:   "ui [DIR ...]",
		Short: "See runs, sweeps and sharpness in the browser: a local web page over run folders (default runs/)",
		Long: `Serve a web page that shows every run folder under the directories (default runs/): the
training runs with their config and final metrics (filter, sort), their loss, accuracy,
learning-rate and λ_max curves overlaid (live while a run trains), sweeps (validation metric
against ρ per seed and fold, the chosen ρ, the test table) and sharpness measurements
(sharpness.json, the Hessian eigenvalue density, the landscape figures).

Everything is served from the binary; the page loads nothing from the network. The server
binds to loopback (127.0.0.1:6006) unless --addr says otherwise, and reads nothing outside
the directories. The JSON API behind the page (/api/runs, /api/runs/{id}/metrics, ...) is
documented in the package github.com/samgo/sam/ui. Stop it with Ctrl-C.`,
		Example: `  sam ui                        # runs/ at http://127.0.0.1:6006/
  sam ui runs/ /data/sweeps --addr 127.0.0.1:8080`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUI(cmd.Context(), args, addr, poll, stdout)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:6006", "address to listen on, HOST:PORT (port 0 picks a free one); a non-loopback host shares the runs with the network, without authentication")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often to look for changed files (live updates)")
	return cmd
}

func runUI(ctx context.Context, dirs []string, addr string, poll time.Duration, stdout io.Writer) error {
	if len(dirs) == 0 {
		dirs = []string{"runs"}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usage(fmt.Errorf("--addr: want HOST:PORT such as 127.0.0.1:6006, got %q", addr))
	}
	if poll <= 0 {
		return usage(fmt.Errorf("--poll: must be > 0, got %s", poll))
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	srv, err := ui.New(dirs, &ui.Options{Poll: poll, LocalOnly: loopback})
	if err != nil {
		return usage(errors.New(strings.TrimPrefix(err.Error(), "ui: ")))
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usage(fmt.Errorf("--addr %s: %v", addr, errors.Unwrap(err)))
	}
	url := "http://" + ln.Addr().String() + "/"
	fmt.Fprintf(stdout, "sam ui: serving %s at %s\n", strings.Join(dirs, ", "), url)
	if loopback {
		fmt.Fprintf(stdout, "sam ui: bound to loopback (%s): only this machine can connect; Ctrl-C stops\n", ln.Addr())
	} else {
		fmt.Fprintf(stdout, "sam ui: bound to %s: any machine that can reach this one can read these runs (no authentication); Ctrl-C stops\n", ln.Addr())
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends live streams on Ctrl-C
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	return nil
}
