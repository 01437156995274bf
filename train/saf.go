package train

import (
	"errors"

	"github.com/samgo/sam"
)

// checkSAF refuses the settings that SAF (--variant saf) cannot train with: its trajectory term
// compares softmax outputs, so it needs the cross-entropy loss; its memory of past outputs is
// kept per process, and a data-parallel run would keep each rank's rows apart (and save only
// rank 0's in checkpoints).
func checkSAF(c *Config, mem *sam.Member, ranks int) error {
	if mem.Name != "saf" {
		return nil
	}
	if ranks > 1 {
		return errors.New("--variant saf: keeps each example's past outputs in one process, so it does not run data-parallel")
	}
	if l := c.Model.Loss; l != "" && l != "ce" {
		return errors.New("--loss: saf's trajectory term compares softmax outputs; use --loss ce")
	}
	return nil
}
