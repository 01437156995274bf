//go:build unix

package main

import (
	"runtime"
	"syscall"
)

// maxRSSMB is the process's peak resident memory in MiB (ru_maxrss is KiB on Linux, bytes on macOS).
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}
