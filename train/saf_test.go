package train

import (
	"strings"
	"testing"

	"github.com/samgo/sam"
)

// TestCheckSAF: SAF and MESA are refused data-parallel and with a loss other than cross-entropy,
// in one line naming the flag; other members and the single-process CE run pass.
func TestCheckSAF(t *testing.T) {
	for _, name := range []string{"saf", "mesa"} {
		m, _ := sam.Lookup(name)
		c := &Config{}
		if err := checkSAF(c, m, 1); err != nil {
			t.Fatalf("%s, one process: %v", name, err)
		}
		if err := checkSAF(c, m, 2); err == nil || !strings.HasPrefix(err.Error(), "--variant "+name) || !strings.Contains(err.Error(), "does not run data-parallel") {
			t.Fatalf("%s, 2 ranks: err = %v", name, err)
		}
		c.Model.Loss = "mse"
		if err := checkSAF(c, m, 1); err == nil || !strings.HasPrefix(err.Error(), "--loss") {
			t.Fatalf("%s, mse: err = %v", name, err)
		}
	}
	m, _ := sam.Lookup("sam")
	if err := checkSAF(&Config{}, m, 2); err != nil {
		t.Fatalf("sam, 2 ranks: %v", err)
	}
}
