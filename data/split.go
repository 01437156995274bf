package data

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Stream constants for the PCG generators, so that the split and the label
// noise drawn from the same seed are independent.
const (
	splitStream = 0x53414d2d73706c74 // "SAM-splt"
	noiseStream = 0x53414d2d6e6f6973 // "SAM-nois"
)

// Splits draws train/validation/test sets. With src.Test != nil the official
// test set is used and testFrac must be 0 (error otherwise naming
// --test-fraction); val is valFrac of the training pool. Otherwise the pool
// is split into test (testFrac), val (valFrac) and train (the rest).
// Fractions must lie in [0,1) and sum to < 1; train must not be empty.
// Seeded: same seed, same split. Val/test may be empty Sets (N()==0), never
// nil.
//
// All three sets are fresh copies: changing them (Standardize,
// AddLabelNoise) leaves src untouched. The pool is shuffled once with the
// seed; for tabular data the first round(testFrac·n) examples of the
// permutation go to test, the next round(valFrac·n) to val and the rest to
// train, each in permutation order.
func Splits(src *Source, valFrac, testFrac float64, seed uint64) (train, val, test *Set, err error) {
	if src == nil || src.Train == nil {
		return nil, nil, nil, errors.New("data: no data set to split")
	}
	if err := checkFraction("--val-fraction", valFrac); err != nil {
		return nil, nil, nil, err
	}
	if err := checkFraction("--test-fraction", testFrac); err != nil {
		return nil, nil, nil, err
	}
	if src.Test != nil && testFrac != 0 {
		return nil, nil, nil, fmt.Errorf("data: --test-fraction must be 0 for %s, which has an official test set (got %g)", src.Name, testFrac)
	}
	if valFrac+testFrac >= 1 {
		return nil, nil, nil, fmt.Errorf("data: --val-fraction (%g) and --test-fraction (%g) must sum to less than 1", valFrac, testFrac)
	}
	n := src.Train.N()
	if n == 0 {
		return nil, nil, nil, fmt.Errorf("data: %s has no training examples", src.Name)
	}
	nTest := int(math.Round(testFrac * float64(n)))
	nVal := int(math.Round(valFrac * float64(n)))
	if nTest+nVal >= n {
		return nil, nil, nil, fmt.Errorf("data: --val-fraction %g and --test-fraction %g leave no training examples out of %d in %s",
			valFrac, testFrac, n, src.Name)
	}
	perm := rand.New(rand.NewPCG(seed, splitStream)).Perm(n)
	if src.Test != nil {
		test = src.Test.Subset(identity(src.Test.N()))
	} else {
		test = src.Train.Subset(perm[:nTest])
	}
	val = src.Train.Subset(perm[nTest : nTest+nVal])
	train = src.Train.Subset(perm[nTest+nVal:])
	return train, val, test, nil
}

func checkFraction(flag string, f float64) error {
	if math.IsNaN(f) || f < 0 || f >= 1 {
		return fmt.Errorf("data: %s must lie in [0,1), got %g", flag, f)
	}
	return nil
}

func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Standardize centres every feature on its mean in train and divides it by its standard
// deviation σ_j in train (a σ of 0 counts as 1). For image data, whose pixels share one unit,
// pass image = true: the divisor is then max(σ_j, σ̄), with σ̄ the root-mean-square of all σ_j,
// so that nearly constant pixels (MNIST's border) are centred but not blown up into noise.
// The statistics come from train alone and are applied to train and to every set in others.
// Nil sets, sets whose Dim differs from train's and repeats of a set already standardized are
// skipped; an empty train leaves everything unchanged.
func Standardize(image bool, train *Set, others ...*Set) {
	if st := FitStats(image, train); st != nil {
		st.Apply(append([]*Set{train}, others...)...)
	}
}

// invStd returns 1/sqrt(variance), or 1 when the variance is (numerically) 0.
func invStd(variance float64) float64 {
	if !(variance > 1e-24) {
		return 1
	}
	return 1 / math.Sqrt(variance)
}

// AddLabelNoise replaces round(frac·N) labels, chosen at random, by a class
// drawn uniformly from all Classes (so it may coincide with the true one);
// it returns how many labels actually changed. frac must lie in [0,1];
// regression sets are an error. Only s is modified; sets from Splits and
// Subset own their labels.
func AddLabelNoise(s *Set, frac float64, seed uint64) (changed int, err error) {
	if s == nil {
		return 0, errors.New("data: label noise: no data set")
	}
	if !s.IsClassification() {
		return 0, errors.New("data: label noise needs a classification data set, not a regression one")
	}
	if math.IsNaN(frac) || frac < 0 || frac > 1 {
		return 0, fmt.Errorf("data: label noise fraction must lie in [0,1], got %g", frac)
	}
	n := len(s.Labels)
	k := int(math.Round(frac * float64(n)))
	if k == 0 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(seed, noiseStream))
	for _, i := range rng.Perm(n)[:k] {
		c := int32(rng.IntN(s.Classes))
		if c != s.Labels[i] {
			s.Labels[i] = c
			changed++
		}
	}
	return changed, nil
}
