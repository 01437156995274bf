//go:build !unix

package main

// maxRSSMB is not measured on this platform.
func maxRSSMB() float64 { return 0 }
