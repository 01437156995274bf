package train

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/tensor"
)

// Images holds the settings of the image data sets and of data augmentation.
type Images struct {
	CIFAR100Labels string            `json:"cifar100_labels,omitempty"` // cifar100: "fine" (default, 100 classes) or "coarse" (20)
	Folder         data.ImageOptions `json:"folder,omitzero"`           // folder:PATH: size, channels, skipping unreadable images
	Augment        Augment           `json:"augment,omitzero"`
}

// Augment is the SAM paper's CIFAR augmentation, applied on the fly to each training batch
// (never to evaluation data): a random crop of the image padded by Pad pixels on every side,
// a horizontal flip with probability ½, and Cutout (DeVries & Taylor 2017): a square of side
// Cutout, centred on a uniformly drawn pixel and clipped at the border, set to 0. They apply in
// that order, after standardisation, so padding and cutout fill with 0, the training set's
// channel mean when the data are standardised. Draws come from the run's seed, one example
// after the other; the same seed gives the same batches for any thread count.
type Augment struct {
	Crop   bool `json:"crop,omitempty"`
	Pad    int  `json:"crop_pad,omitempty"` // crop: padding on each side (the paper's 4)
	Flip   bool `json:"flip,omitempty"`
	Cutout int  `json:"cutout,omitempty"` // side of the cutout square; 0 = no cutout
}

// On reports whether any augmentation is set.
func (a Augment) On() bool { return a.Crop || a.Flip || a.Cutout > 0 }

// ParseAugment reads a comma-separated list of crop, flip and cutout ("" or "none" = none);
// pad and cutout are the --crop-pad and --cutout values, which apply only with crop and cutout.
func ParseAugment(list string, pad, cutout int) (Augment, error) {
	var a Augment
	for _, s := range strings.Split(list, ",") {
		switch strings.TrimSpace(strings.ToLower(s)) {
		case "", "none":
		case "crop":
			a.Crop, a.Pad = true, pad
		case "flip":
			a.Flip = true
		case "cutout":
			a.Cutout = cutout
			if cutout < 1 {
				return a, fmt.Errorf("--cutout: must be ≥ 1 with --augment cutout, got %d", cutout)
			}
		default:
			return a, fmt.Errorf("--augment: unknown augmentation %q (want a comma-separated list of crop, flip, cutout)", s)
		}
	}
	return a, nil
}

// Validate checks the settings that do not depend on the data.
func (im Images) Validate() error {
	switch im.CIFAR100Labels {
	case "", "fine", "coarse":
	default:
		return fmt.Errorf("--cifar100-labels: want fine or coarse, got %q", im.CIFAR100Labels)
	}
	a := im.Augment
	if a.Crop && a.Pad < 1 {
		return fmt.Errorf("--crop-pad: must be ≥ 1 with --augment crop, got %d", a.Pad)
	}
	if a.Cutout < 0 {
		return fmt.Errorf("--cutout: must be ≥ 1, got %d", a.Cutout)
	}
	return nil
}

// dataOptions are the data.Options that c describes, for the task given.
func (c *Config) dataOptions(task data.Task) data.Options {
	return data.Options{Target: c.Target, Task: task, Dir: c.DataDir,
		CIFAR100Coarse: c.Images.CIFAR100Labels == "coarse", Images: c.Images.Folder}
}

// Augmenter applies an Augment to batches of images of shape [C,H,W] in place.
type Augmenter struct {
	a       Augment
	c, h, w int
	rng     *rand.Rand
	pcg     *rand.PCG // rng's source, saved in checkpoints
	draws   []augDraw
	src     []float32
}

// augDraw is what augmentation drew for one example.
type augDraw struct {
	dy, dx int  // crop offset in the padded image, in [0, 2·Pad]
	flip   bool // flip horizontally
	cy, cx int  // cutout centre
}

// NewAugmenter returns the augmenter of a for examples of the given shape drawing from seed,
// or nil when a does nothing. Augmentation needs image data and a cutout no larger than it.
func NewAugmenter(a Augment, shape []int, seed uint64) (*Augmenter, error) {
	if !a.On() {
		return nil, nil
	}
	if len(shape) != 3 {
		return nil, fmt.Errorf("--augment: needs image data [C,H,W], got examples of shape %v", shape)
	}
	src := rand.NewPCG(seed, 0xa06)
	g := &Augmenter{a: a, c: shape[0], h: shape[1], w: shape[2], rng: rand.New(src), pcg: src}
	if a.Crop && (a.Pad >= g.h || a.Pad >= g.w) {
		return nil, fmt.Errorf("--crop-pad: %d is not smaller than the %d×%d images", a.Pad, g.h, g.w)
	}
	if a.Cutout > max(g.h, g.w) {
		return nil, fmt.Errorf("--cutout: %d is larger than the %d×%d images", a.Cutout, g.h, g.w)
	}
	return g, nil
}

// CheckAugment reports whether a can apply to examples of the given shape.
func CheckAugment(a Augment, shape []int) error {
	_, err := NewAugmenter(a, shape, 0)
	return err
}

// draw draws the augmentation of n examples, one example after the other.
func (g *Augmenter) draw(n int) {
	g.draws = g.draws[:0]
	for range n {
		var d augDraw
		if g.a.Crop {
			d.dy, d.dx = g.rng.IntN(2*g.a.Pad+1), g.rng.IntN(2*g.a.Pad+1)
		}
		if g.a.Flip {
			d.flip = g.rng.IntN(2) == 1
		}
		if g.a.Cutout > 0 {
			d.cy, d.cx = g.rng.IntN(g.h), g.rng.IntN(g.w)
		}
		g.draws = append(g.draws, d)
	}
}

// Apply draws and applies the augmentation of the n examples in x, in place, on the worker
// threads.
func (g *Augmenter) Apply(x []float32, n int) {
	g.draw(n)
	g.src = append(g.src[:0], x[:n*g.c*g.h*g.w]...)
	d := g.c * g.h * g.w
	tensor.Parallel(n, 1, func(lo, hi int) {
		for e := lo; e < hi; e++ {
			g.one(g.draws[e], g.src[e*d:(e+1)*d], x[e*d:(e+1)*d])
		}
	})
}

// one writes the augmentation d of the image src into dst.
func (g *Augmenter) one(d augDraw, src, dst []float32) {
	h, w, p := g.h, g.w, g.h*g.w
	oy, ox := 0, 0 // the crop: output (y, x) reads input (y+oy, x+ox)
	if g.a.Crop {
		oy, ox = d.dy-g.a.Pad, d.dx-g.a.Pad
	}
	for ch := range g.c {
		s, t := src[ch*p:(ch+1)*p], dst[ch*p:(ch+1)*p]
		for y := range h {
			row := t[y*w : (y+1)*w]
			sy := y + oy
			if sy < 0 || sy >= h {
				clear(row)
				continue
			}
			for x := range w {
				cx := x // the column of the cropped image this output reads
				if d.flip {
					cx = w - 1 - x
				}
				if sx := cx + ox; sx >= 0 && sx < w {
					row[x] = s[sy*w+sx]
				} else {
					row[x] = 0
				}
			}
		}
		if k := g.a.Cutout; k > 0 {
			y0, y1 := max(d.cy-k/2, 0), min(d.cy-k/2+k, h)
			x0, x1 := max(d.cx-k/2, 0), min(d.cx-k/2+k, w)
			for y := y0; y < y1; y++ {
				clear(t[y*w+x0 : y*w+x1])
			}
		}
	}
}
