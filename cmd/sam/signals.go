package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalCause is the cause of the context that a signal ended.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return fmt.Sprintf("stopped by %s", signalName(s.sig)) }

// exitCode is the shell's status for a process that a signal ended: 128 + its number.
func (s signalCause) exitCode() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 1
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case os.Interrupt:
		return "SIGINT"
	}
	return s.String()
}

// signalContext is ended by the first SIGINT or SIGTERM, with a signalCause. After it a second
// signal has its default effect (the process ends at once), so a second Ctrl-C always works.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(signalCause{s})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

// exitError carries the exit status of a run stopped on purpose (by a signal).
type exitError struct {
	err  error
	code int
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }
func (e exitError) ExitCode() int { return e.code }
