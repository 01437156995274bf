package train

import (
	"fmt"

	"github.com/samgo/sam"
)

// checkSAF refuses the settings that SAF and MESA (--variant saf, mesa) cannot train with:
// their trajectory term compares softmax outputs, so it needs the cross-entropy loss; their
// memory of each example (SAF's past outputs, the visit counts of both) is kept per process, and
// a data-parallel run would keep each rank's rows apart (and save only rank 0's in checkpoints).
func checkSAF(c *Config, mem *sam.Member, ranks int) error {
	if mem.Name != "saf" && mem.Name != "mesa" {
		return nil
	}
	if ranks > 1 {
		return fmt.Errorf("--variant %s: keeps a memory of each example in one process, so it does not run data-parallel", mem.Name)
	}
	if l := c.Model.Loss; l != "" && l != "ce" {
		return fmt.Errorf("--loss: %s's trajectory term compares softmax outputs; use --loss ce", mem.Name)
	}
	return nil
}
