package sweep

import (
	"math"
	"testing"

	"github.com/samgo/sam/internal/fixture"
	"github.com/samgo/sam/train"
)

// TestTrialDataCIFAR: a sweep over CIFAR standardises each colour channel with the trial's
// training statistics, as train.Prepare does, and checks the augmentation against the images.
func TestTrialDataCIFAR(t *testing.T) {
	dir := t.TempDir()
	fixture.WriteCIFAR10(t, dir, 3, 2)
	s := tiny()
	s.Base.Data, s.Base.DataDir, s.Base.TestFraction = "cifar10", dir, 0
	s.Base.Model.Model, s.Base.Model.Hidden = "logistic", nil
	s.Folds = 3
	p, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	c := s.Base
	d, err := p.trialData(s, Trial{Kind: "val", Fold: 1}, &c)
	if err != nil {
		t.Fatal(err)
	}
	x := d.Train.X
	for ch := range 3 {
		var sum, ss float64
		var n int
		for i := ch * 1024; i < len(x); i += 3 * 1024 {
			for _, v := range x[i : i+1024] {
				sum += float64(v)
				ss += float64(v) * float64(v)
				n++
			}
		}
		mean, variance := sum/float64(n), ss/float64(n)-sum*sum/float64(n*n)
		if math.Abs(mean) > 1e-4 || math.Abs(variance-1) > 1e-3 {
			t.Errorf("channel %d: mean %g variance %g, want 0 and 1 (per-channel standardisation)", ch, mean, variance)
		}
	}
	s.Base.Images.Augment = train.Augment{Cutout: 40}
	if _, err := s.load(); err == nil {
		t.Error("a cutout larger than the images was accepted")
	}
}
