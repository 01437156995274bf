package sweep

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/train"
)

// foldStream keeps the fold permutation independent of data.Splits' permutation.
const foldStream = 0x53414d2d666f6c64 // "SAM-fold"

// pool is the data every trial draws from: the training pool (train+validation; label noise
// already applied) and the test set (the official one for the mnist family, else a seeded
// split of Base.TestFraction).
type pool struct {
	name        string
	image       bool
	channelwise bool // standardise per colour channel (CIFAR, image folders)
	train, test *data.Set
	noisy       int
	perm        []int // a seeded permutation of the pool: folds and the validation split
}

// load opens the data and draws the pool, the test split and the label noise from Base.Seed.
func (s *Spec) load() (*pool, error) {
	c := s.Base
	src, err := c.Open()
	if err != nil {
		return nil, err
	}
	tr, _, te, err := data.Splits(src, 0, c.TestFraction, c.Seed)
	if err != nil {
		return nil, err
	}
	p := &pool{name: src.Name, image: src.Image, channelwise: src.Channelwise, train: tr, test: te}
	if err := train.CheckAugment(c.Images.Augment, tr.Shape); err != nil {
		return nil, err
	}
	if c.Model.Loss == "bce" && tr.Classes != 2 {
		return nil, fmt.Errorf("--loss bce: needs two classes, %s has %d", c.Data, tr.Classes)
	}
	n := tr.N()
	if s.Folds > n {
		return nil, fmt.Errorf("--folds: %d folds but only %d training examples in %s", s.Folds, n, src.Name)
	}
	if s.Folds == 0 {
		nv := int(math.Round(s.ValFraction * float64(n)))
		if nv < 1 || nv >= n {
			return nil, fmt.Errorf("--val-fraction: %g of %d training examples leaves an empty split", s.ValFraction, n)
		}
	}
	if c.LabelNoise > 0 {
		if p.noisy, err = data.AddLabelNoise(tr, c.LabelNoise, c.Seed); err != nil {
			return nil, err
		}
	}
	p.perm = rand.New(rand.NewPCG(c.Seed, foldStream)).Perm(n)
	return p, nil
}

// trialData builds trial t's data: for a validation trial the pool minus its fold (or minus
// the validation split) for training and the fold for validation; for a final run the whole
// pool and the test set. Features are standardised with the trial's training statistics.
// It also fills in c.Model.Input and c.Model.Outputs, as train.Prepare does.
func (p *pool) trialData(s *Spec, t Trial, c *train.Config) (*train.Data, error) {
	n := p.train.N()
	var trIdx, vaIdx []int
	switch {
	case t.Kind == "final":
		trIdx = p.perm
	case t.Fold >= 0:
		for j, i := range p.perm {
			if j%s.Folds == t.Fold {
				vaIdx = append(vaIdx, i)
			} else {
				trIdx = append(trIdx, i)
			}
		}
	default:
		nv := int(math.Round(s.ValFraction * float64(n)))
		vaIdx, trIdx = p.perm[:nv], p.perm[nv:]
	}
	tr, va := p.train.Subset(trIdx), p.train.Subset(vaIdx)
	te := p.train.Subset(nil)
	if t.Kind == "final" {
		te = p.test.Subset(identity(p.test.N()))
	}
	if c.Standardize && p.channelwise {
		data.StandardizeChannels(tr, va, te)
	} else if c.Standardize {
		data.Standardize(p.image, tr, va, te)
	}
	if err := c.FitModel(tr); err != nil {
		return nil, err
	}
	return &train.Data{Name: p.name, Train: tr, Val: va, Test: te, NoisyLabels: p.noisy, Image: p.image}, nil
}

func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
