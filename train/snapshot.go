package train

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/samgo/sam/nn"
)

// SnapshotDir is the folder of out where Run writes weight snapshots (Config.SnapshotEvery).
const SnapshotDir = "snapshots"

// SnapshotName is the file name of the snapshot after step steps (the step in the name, zero
// padded so that names sort by step).
func SnapshotName(step int) string { return fmt.Sprintf("step_%07d.safetensors", step) }

// snapshot writes the weights after step to out/snapshots when c.SnapshotEvery asks for it: at
// step 0, every SnapshotEvery steps and at the last step. Each is a checkpoint (SaveModel).
func snapshot(c *Config, pre *Preprocess, out string, m *nn.Model, w []float32, step, total int) error {
	if c.SnapshotEvery <= 0 || out == "" || (step%c.SnapshotEvery != 0 && step != total) {
		return nil
	}
	dir := filepath.Join(out, SnapshotDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--snapshot-every: %w", err)
	}
	return SaveModel(filepath.Join(dir, SnapshotName(step)), m, w, c, pre)
}
