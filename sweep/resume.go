package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/samgo/sam/train"
)

// CheckpointName is the file in D/trials that holds the training state of trial id while it
// runs: written every Options.CheckpointEvery steps and when the sweep is cancelled (SIGINT,
// SIGTERM), resumed by the next run of the sweep, removed when the trial finishes.
func CheckpointName(id string) string { return id + ".checkpoint.safetensors" }

// runCheckpointed trains trial t with its checkpoint in D/trials, resuming it when it is there.
func runCheckpointed(ctx context.Context, o Options, t Trial, c *train.Config, d *train.Data, obs train.Observer) (*train.Result, error) {
	path := filepath.Join(o.Out, TrialsDir, CheckpointName(t.ID))
	ro := train.RunOptions{Observer: obs, Checkpoint: path, CheckpointEvery: o.CheckpointEvery, Shared: o.shared}
	if _, err := os.Stat(path); err == nil {
		st, err := train.LoadTrainState(path)
		if err != nil {
			return nil, fmt.Errorf("%w (delete it to run the trial from the start)", err)
		}
		ro.Resume = st
		for _, m := range st.Metrics { // the record's epochs before the checkpoint
			if obs.Epoch != nil {
				obs.Epoch(m)
			}
		}
		if o.Log != nil {
			fmt.Fprintf(o.Log, "sweep: resuming trial %s at step %d of %d\n", t.ID, st.Step, st.Total)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	res, err := train.RunWith(ctx, c, d, ro)
	if errors.Is(err, train.ErrStopped) {
		return nil, ctx.Err()
	}
	return res, err
}
