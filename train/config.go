package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/samgo/sam"
	"github.com/samgo/sam/dist"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
)

// Config defines a training run.
type Config struct {
	Data    string `json:"data"`               // mnist, fashion-mnist, cifar10, cifar100, iris, wine, breast-cancer, digits, csv:PATH or folder:PATH
	DataDir string `json:"data_dir,omitempty"` // directory of the mnist / fashion-mnist / cifar10 / cifar100 files
	Images  Images `json:"images,omitzero"`    // cifar100 labels, image folders, augmentation
	Target  string `json:"target,omitempty"`   // csv target column ("" = last)
	Task    string `json:"task"`               // "classification" or "regression"

	Model nn.Spec `json:"model"` // Input and Outputs are filled in from the data
	Init  string  `json:"init"`  // "default" or "zeros"

	Optimizer optim.Config   `json:"optimizer"`
	SAM       sam.Config     `json:"sam"`
	LR        float64        `json:"lr"`
	Schedule  optim.Schedule `json:"schedule"`

	BatchSize int    `json:"batch_size"`      // 0 = full batch
	Epochs    int    `json:"epochs"`          // used when Steps is 0
	Steps     int    `json:"steps,omitempty"` // total steps; overrides Epochs
	Seed      uint64 `json:"seed"`

	TrainSize    int     `json:"train_size,omitempty"` // use a seeded random subset of this many examples of the training pool (0 = all)
	LabelNoise   float64 `json:"label_noise,omitempty"`
	ValFraction  float64 `json:"val_fraction"`
	TestFraction float64 `json:"test_fraction"`
	Standardize  bool    `json:"standardize"`
	EvalBatch    int     `json:"-"` // rows per evaluation forward pass (0 = 256)

	TrackSharpness int `json:"track_sharpness,omitempty"` // log λ_max every this many epochs (0 = off)

	ClassNames    []string `json:"-"`                        // filled in by Prepare from the data; saved with the model
	SnapshotEvery int      `json:"snapshot_every,omitempty"` // write the weights to out/snapshots every this many steps (0 = off)
	// Data parallel and gradient accumulation (dist.go). Comm nil is one process.
	Comm     dist.Comm `json:"-"`
	Ranks    int       `json:"ranks,omitempty"`     // data-parallel ranks (Run records Comm's size when > 1)
	DistEps  string    `json:"dist_eps,omitempty"`  // local (default with ranks > 1) or global
	Accum    int       `json:"accum,omitempty"`     // micro-batches per batch (0 = off)
	AccumEps string    `json:"accum_eps,omitempty"` // global (default with Accum) or local
	// BNGhost > 0 normalises each training batch in BatchNorm in consecutive chunks of this
	// many examples (Ghost Batch Normalization, nn.BatchNorm.Ghost); 0 = the whole (per-rank
	// micro-)batch.
	BNGhost int `json:"bn_ghost_batch,omitempty"`
}

// Validate checks the settings that do not depend on the data. Errors are one line naming the flag.
func (c *Config) Validate() error {
	if c.Data == "" {
		return errors.New("--data: required")
	}
	switch c.Task {
	case "classification", "regression":
	default:
		return fmt.Errorf("--task: unknown task %q (want classification or regression)", c.Task)
	}
	if math.IsNaN(c.LR) || math.IsInf(c.LR, 0) || c.LR <= 0 {
		return fmt.Errorf("--lr: must be a finite number > 0, got %g", c.LR)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("--batch-size: must be a positive integer or full, got %d", c.BatchSize)
	}
	if c.Steps < 0 {
		return fmt.Errorf("--steps: must be ≥ 0, got %d", c.Steps)
	}
	if c.Steps == 0 && c.Epochs <= 0 {
		return fmt.Errorf("--epochs: must be > 0, got %d", c.Epochs)
	}
	if c.SnapshotEvery < 0 {
		return fmt.Errorf("--snapshot-every: must be ≥ 0, got %d", c.SnapshotEvery)
	}
	if c.TrackSharpness < 0 {
		return fmt.Errorf("--track-sharpness: must be ≥ 0, got %d", c.TrackSharpness)
	}
	if c.TrainSize < 0 {
		return fmt.Errorf("--train-size: must be ≥ 0 (0 = all), got %d", c.TrainSize)
	}
	if !(c.LabelNoise >= 0 && c.LabelNoise <= 1) {
		return fmt.Errorf("--label-noise: must be in [0,1], got %g", c.LabelNoise)
	}
	if c.LabelNoise > 0 && c.Task != "classification" {
		return errors.New("--label-noise: only applies to classification")
	}
	if err := c.Images.Validate(); err != nil {
		return err
	}
	if err := c.Optimizer.Validate(); err != nil {
		return err
	}
	if err := c.SAM.Validate(); err != nil {
		return err
	}
	if err := sam.CheckBase(c.SAM, c.Optimizer); err != nil {
		return err
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	return c.validateParallel()
}
