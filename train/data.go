package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/samgo/sam/data"
)

// Data is a prepared data set: splits drawn, features standardised, label noise applied.
type Data struct {
	Name             string
	Train, Val, Test *data.Set
	NoisyLabels      int // training labels changed by label noise
	Image            bool
	Stats            *data.Stats // the standardisation fitted on Train (nil without it)
	SkippedImages    int         // unreadable images skipped (folder:PATH with --skip-bad-images)
}

// Prepare loads c.Data and draws the splits that c describes, and fills in c.Model.Input and
// c.Model.Outputs from the data.
func Prepare(c *Config) (*Data, error) {
	src, err := c.Open()
	if err != nil {
		return nil, err
	}
	tr, va, te, err := data.Splits(src, c.ValFraction, c.TestFraction, c.Seed)
	if err != nil {
		return nil, err
	}
	d := &Data{Name: src.Name, Train: tr, Val: va, Test: te, Image: src.Image, SkippedImages: src.Skipped}
	c.ClassNames = tr.ClassNames
	if c.Standardize {
		if src.Channelwise { // per-channel statistics (CIFAR, image folders), stored per feature
			d.Stats = data.FitChannelStats(tr)
		} else {
			d.Stats = data.FitStats(src.Image, tr)
		}
		if d.Stats != nil {
			d.Stats.Apply(tr, va, te)
		}
	}
	if c.LabelNoise > 0 {
		if d.NoisyLabels, err = data.AddLabelNoise(tr, c.LabelNoise, c.Seed); err != nil {
			return nil, err
		}
	}
	if err := c.FitModel(tr); err != nil {
		return nil, err
	}
	if err := CheckAugment(c.Images.Augment, tr.Shape); err != nil {
		return nil, err
	}
	return d, nil
}

// Open loads c.Data, checks that it holds data of c.Task, and limits its training pool to
// c.TrainSize examples (LimitPool): the source that Prepare, and the sweep, split.
func (c *Config) Open() (*data.Source, error) {
	task := data.Classification
	if c.Task == "regression" {
		task = data.Regression
	}
	src, err := data.Open(c.Data, c.dataOptions(task))
	if err != nil {
		return nil, err
	}
	isClass := src.Train.IsClassification()
	if isClass != (c.Task == "classification") {
		return nil, fmt.Errorf("--data %s: holds %s data, but --task is %s (--model %s)", c.Data, taskName(isClass), c.Task, c.Model.Model)
	}
	if err := c.LimitPool(src); err != nil {
		return nil, err
	}
	return src, nil
}

// LimitPool replaces src's training pool by a seeded random subset of c.TrainSize examples
// (nothing when TrainSize is 0); validation and, for tabular data, test splits are drawn from
// what remains. The official test set of the mnist family is kept whole.
func (c *Config) LimitPool(src *data.Source) error {
	if c.TrainSize == 0 {
		return nil
	}
	n := src.Train.N()
	if c.TrainSize > n {
		return fmt.Errorf("--train-size: %d is more than the %d examples of %s's training pool", c.TrainSize, n, src.Name)
	}
	perm := rand.New(rand.NewPCG(c.Seed, 0x5ea1)).Perm(n)
	src.Train = src.Train.Subset(perm[:c.TrainSize])
	return nil
}

// FitModel fills in c.Model.Input and c.Model.Outputs from the training set tr.
func (c *Config) FitModel(tr *data.Set) error {
	c.Model.Input = append([]int(nil), tr.Shape...)
	if !tr.IsClassification() {
		c.Model.Outputs = tr.Outputs
		return nil
	}
	c.Model.Outputs = tr.Classes
	if c.Model.Loss == "bce" {
		if tr.Classes != 2 {
			return fmt.Errorf("--loss bce: needs two classes, %s has %d", c.Data, tr.Classes)
		}
		c.Model.Outputs = 1
	}
	return nil
}

func taskName(classification bool) string {
	if classification {
		return "classification"
	}
	return "regression"
}
