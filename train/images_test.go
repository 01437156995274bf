package train

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/samgo/sam"
	"github.com/samgo/sam/internal/fixture"
	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/optim"
	"github.com/samgo/sam/tensor"
)

// TestAugmentHandComputed checks crop, flip and cutout, alone and together, against images
// worked out by hand. The input is two channels of a 3×3 image: 1..9, and 10·(1..9).
func TestAugmentHandComputed(t *testing.T) {
	src := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90}
	for _, tc := range []struct {
		name string
		a    Augment
		d    augDraw
		want []float32 // channel 0; channel 1 is 10 times it
	}{
		// Padded by 1 and cropped at offset (dy, dx) = (0, 2): output (y, x) = input (y−1, x+1).
		{"crop", Augment{Crop: true, Pad: 1}, augDraw{dy: 0, dx: 2}, []float32{0, 0, 0, 2, 3, 0, 5, 6, 0}},
		// The centred crop is the identity.
		{"crop centre", Augment{Crop: true, Pad: 1}, augDraw{dy: 1, dx: 1}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		// Offset (2, 0): output (y, x) = input (y+1, x−1).
		{"crop corner", Augment{Crop: true, Pad: 1}, augDraw{dy: 2, dx: 0}, []float32{0, 4, 5, 0, 7, 8, 0, 0, 0}},
		{"flip", Augment{Flip: true}, augDraw{flip: true}, []float32{3, 2, 1, 6, 5, 4, 9, 8, 7}},
		{"no flip", Augment{Flip: true}, augDraw{}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}},
		// Crop (0, 2) as above, then flip: rows 0 0 0 | 2 3 0 | 5 6 0 reversed.
		{"crop flip", Augment{Crop: true, Pad: 1, Flip: true}, augDraw{dy: 0, dx: 2, flip: true}, []float32{0, 0, 0, 0, 3, 2, 0, 6, 5}},
		// A 2×2 cutout centred on (1, 1) covers rows 0..1, columns 0..1.
		{"cutout", Augment{Cutout: 2}, augDraw{cy: 1, cx: 1}, []float32{0, 0, 3, 0, 0, 6, 7, 8, 9}},
		// Centred on (0, 2) it is clipped to row 0, columns 1..2.
		{"cutout clipped", Augment{Cutout: 2}, augDraw{cy: 0, cx: 2}, []float32{1, 0, 0, 4, 5, 6, 7, 8, 9}},
		// Cutout applies after the crop and flip, at the drawn place of the output: crop flip as
		// above, then rows 0..1 × columns 0..1 cut out.
		{"all", Augment{Crop: true, Pad: 1, Flip: true, Cutout: 2}, augDraw{dy: 0, dx: 2, flip: true, cy: 1, cx: 1},
			[]float32{0, 0, 0, 0, 0, 2, 0, 6, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewAugmenter(tc.a, []int{2, 3, 3}, 1)
			if err != nil {
				t.Fatal(err)
			}
			want := append(slices.Clone(tc.want), make([]float32, 9)...)
			for i := range 9 {
				want[9+i] = 10 * want[i]
			}
			dst := make([]float32, 18)
			for i := range dst {
				dst[i] = -1
			}
			g.one(tc.d, src, dst)
			if !slices.Equal(dst, want) {
				t.Errorf("got  %v\nwant %v", dst, want)
			}
		})
	}
}

// TestAugmentDraws: the draws cover every crop offset and both flips, come from the seed alone,
// and applying them gives the same batch for any thread count.
func TestAugmentDraws(t *testing.T) {
	a := Augment{Crop: true, Pad: 2, Flip: true, Cutout: 3}
	shape := []int{3, 6, 5}
	const n = 400
	x := make([]float32, n*90)
	for i := range x {
		x[i] = float32(i%97) + 1
	}
	var ref []float32
	for _, threads := range []int{1, 2, 7} {
		old := tensor.SetThreads(threads)
		g, err := NewAugmenter(a, shape, 9)
		if err != nil {
			t.Fatal(err)
		}
		b := slices.Clone(x)
		g.Apply(b, n)
		tensor.SetThreads(old)
		if ref == nil {
			ref = b
			seen := map[[2]int]bool{}
			flips := 0
			for _, d := range g.draws {
				seen[[2]int{d.dy, d.dx}] = true
				if d.flip {
					flips++
				}
				if d.cy < 0 || d.cy >= 6 || d.cx < 0 || d.cx >= 5 {
					t.Fatalf("cutout centre %d,%d outside the image", d.cy, d.cx)
				}
			}
			if len(seen) != 25 || flips < n/2-50 || flips > n/2+50 {
				t.Errorf("%d of 25 crop offsets drawn, %d of %d flipped", len(seen), flips, n)
			}
			// Each example is its own augmentation of the input.
			for e, d := range g.draws[:20] {
				one := make([]float32, 90)
				g.one(d, x[e*90:(e+1)*90], one)
				if !slices.Equal(one, b[e*90:(e+1)*90]) {
					t.Fatalf("example %d is not its draw applied", e)
				}
			}
			continue
		}
		if !slices.Equal(b, ref) {
			t.Fatalf("threads %d: the augmented batch differs", threads)
		}
	}
	if _, err := NewAugmenter(Augment{Cutout: 7}, shape, 1); err == nil || !strings.Contains(err.Error(), "--cutout") {
		t.Errorf("a cutout larger than the image: %v", err)
	}
	if _, err := NewAugmenter(Augment{Crop: true, Pad: 5}, shape, 1); err == nil || !strings.Contains(err.Error(), "--crop-pad") {
		t.Errorf("a padding as large as the image: %v", err)
	}
	if _, err := NewAugmenter(Augment{Flip: true}, []int{12}, 1); err == nil || !strings.Contains(err.Error(), "image data") {
		t.Errorf("tabular data: %v", err)
	}
	if g, err := NewAugmenter(Augment{}, shape, 1); g != nil || err != nil {
		t.Errorf("no augmentation: %v, %v", g, err)
	}
}

func TestParseAugment(t *testing.T) {
	a, err := ParseAugment("crop, flip,cutout", 4, 16)
	if err != nil || a != (Augment{Crop: true, Pad: 4, Flip: true, Cutout: 16}) {
		t.Fatalf("%+v, %v", a, err)
	}
	if a, err := ParseAugment("none", 4, 16); err != nil || a.On() {
		t.Fatalf("none: %+v, %v", a, err)
	}
	for _, bad := range []string{"crop,rotate", "mixup"} {
		if _, err := ParseAugment(bad, 4, 16); err == nil || !strings.Contains(err.Error(), "--augment") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := ParseAugment("cutout", 4, 0); err == nil || !strings.Contains(err.Error(), "--cutout") {
		t.Errorf("cutout 0: %v", err)
	}
	if err := (Images{Augment: Augment{Crop: true}}).Validate(); err == nil || !strings.Contains(err.Error(), "--crop-pad") {
		t.Errorf("crop pad 0: %v", err)
	}
	if err := (Images{CIFAR100Labels: "medium"}).Validate(); err == nil || !strings.Contains(err.Error(), "--cifar100-labels") {
		t.Errorf("cifar100 labels: %v", err)
	}
}

// cifarConfig is a small WRN run on a tiny CIFAR-10 folder in the official format.
func cifarConfig(dir string, aug Augment) *Config {
	return &Config{Data: "cifar10", DataDir: dir, Task: "classification", Init: "default",
		Model:     nn.Spec{Model: "wrn", Depth: 10, Width: 1, Dropout: 0.1, Loss: "ce"},
		Optimizer: optim.Config{Name: "sgd", Momentum: 0.9}, SAM: sam.Config{Rho: 0.05},
		LR: 0.05, Schedule: optim.Schedule{Kind: "cosine"}, BatchSize: 8, Epochs: 1, Seed: 5,
		ValFraction: 0.2, Standardize: true, Images: Images{Augment: aug}}
}

// TestTrainCIFARAugmented trains a WideResNet on a tiny CIFAR-10 tree with crop, flip and
// cutout: the weights are bit-identical on 1 and 3 threads, augmentation changes them, the
// training set is left as it was, and the final metrics are those of the unaugmented data in
// evaluation mode.
func TestTrainCIFARAugmented(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a WideResNet for a few steps")
	}
	dir := t.TempDir()
	fixture.WriteCIFAR10(t, dir, 6, 5)
	aug := Augment{Crop: true, Pad: 4, Flip: true, Cutout: 8}
	train := func(threads int, a Augment) (*Result, *Data) {
		c := cifarConfig(dir, a)
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		d, err := Prepare(c)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(c.ClassNames, []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}) {
			t.Fatalf("class names %v", c.ClassNames)
		}
		before := slices.Clone(d.Train.X)
		old := tensor.SetThreads(threads)
		defer tensor.SetThreads(old)
		out := t.TempDir()
		res, err := Run(c, d, out, "", Observer{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before, d.Train.X) {
			t.Fatal("training changed the training set")
		}
		_, _, cfg, err := LoadModel(filepath.Join(out, "model.safetensors"))
		if err != nil || !slices.Equal(cfg.ClassNames, c.ClassNames) || cfg.Images.Augment != a {
			t.Fatalf("checkpoint: %v, class names %v, augment %+v", err, cfg.ClassNames, cfg.Images.Augment)
		}
		return res, d
	}
	a, d := train(1, aug)
	b, _ := train(3, aug)
	for i := range a.Weights {
		if math.Float32bits(a.Weights[i]) != math.Float32bits(b.Weights[i]) {
			t.Fatalf("threads 1 and 3: weight %d differs: %g vs %g", i, a.Weights[i], b.Weights[i])
		}
	}
	plain, _ := train(1, Augment{})
	if slices.Equal(plain.Weights, a.Weights) {
		t.Fatal("augmentation did not change the weights")
	}
	// Evaluation is never augmented: the summary's metrics are those of the data as they are.
	for _, s := range []struct {
		name      string
		loss, acc *float64
	}{{"train", a.Summary.TrainLoss, a.Summary.TrainAcc}, {"test", a.Summary.TestLoss, a.Summary.TestAcc}} {
		split := d.Train
		if s.name == "test" {
			split = d.Test
		}
		l, acc := evaluate(a.Model, a.Weights, split, 256)
		if *l != *s.loss || *acc != *s.acc {
			t.Errorf("%s: summary loss %g acc %g, evaluation of the unaugmented set %g, %g", s.name, *s.loss, *s.acc, *l, *acc)
		}
	}
	if d.Train.N() != 24 || d.Val.N() != 6 || d.Test.N() != 5 {
		t.Errorf("%d train, %d val, %d test examples, want 24, 6, 5", d.Train.N(), d.Val.N(), d.Test.N())
	}
	// Per-channel standardisation: every channel of the training set has mean 0 and variance 1.
	mean, variance := channelMoments(d.Train.X, 3, 1024)
	for ch := range 3 {
		if math.Abs(mean[ch]) > 1e-4 || math.Abs(variance[ch]-1) > 1e-3 {
			t.Errorf("channel %d: mean %g, variance %g after standardisation", ch, mean[ch], variance[ch])
		}
	}
}

// channelMoments returns each channel's mean and variance over images of c channels of p pixels.
func channelMoments(x []float32, c, p int) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	n := len(x) / (c * p)
	for i, v := range x {
		mean[(i/p)%c] += float64(v) / float64(n*p)
	}
	for i, v := range x {
		d := float64(v) - mean[(i/p)%c]
		variance[(i/p)%c] += d * d / float64(n*p)
	}
	return mean, variance
}
