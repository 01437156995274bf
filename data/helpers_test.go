package data

import (
	"strings"
	"testing"
)

// checkErr fails t unless err is a one-line "data: " error containing every
// string in want.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "data: ") {
		t.Errorf("error %q lacks the \"data: \" prefix", msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q spans several lines", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}
