package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/samgo/sam/data"
	"github.com/samgo/sam/train"
)

// imageFlags are the flags of `sam train` for image data, augmentation and the WideResNet.
type imageFlags struct {
	cifar100Labels  string
	imageSize       string
	channels        int
	skipBad         bool
	augment         string
	cropPad, cutout int
	depth           int
	conv            string
}

// registerData defines the image data and augmentation flags.
func (f *imageFlags) registerData(fl *pflag.FlagSet) {
	fl.StringVar(&f.cifar100Labels, "cifar100-labels", "fine", "cifar100: fine (100 classes) or coarse (the 20 superclasses)")
	fl.StringVar(&f.imageSize, "image-size", "", "folder: resize every image to N×N or HxW pixels, bilinear (default: the first image's size)")
	fl.IntVar(&f.channels, "channels", 0, "folder: 1 (grey) or 3 (RGB) (default: 1 if the first image is grey, else 3)")
	fl.BoolVar(&f.skipBad, "skip-bad-images", false, "folder: skip unreadable images (and report how many) instead of stopping")
	fl.StringVar(&f.augment, "augment", "", "augment training batches on the fly: comma-separated crop (random crop of the image padded by --crop-pad), flip (horizontal, p = ½), cutout (a --cutout square set to 0)")
	fl.IntVar(&f.cropPad, "crop-pad", 4, "augment crop: padding on each side, in pixels")
	fl.IntVar(&f.cutout, "cutout", 16, "augment cutout: side of the square, in pixels")
}

// registerModel defines --depth.
func (f *imageFlags) registerModel(fl *pflag.FlagSet) {
	fl.IntVar(&f.depth, "depth", 16, "wrn: depth 6n+4 (WideResNet-depth-width: 16, 22, 28, ...); resnet: depth 6·blocks+2 instead of --blocks (20, 32, 44, ...)")
	fl.StringVar(&f.conv, "conv", "direct", "cnn, resnet, wrn: 3×3 stride-1 convolutions as direct (im2col GEMM) or winograd (F(4×4,3×3) where there are at least 16 input channels: a quarter of the multiplies; values differ by rounding, about 1e-5 relative; AVX-512 or AVX2 tile transforms)")
}

// hasTestSet reports whether the data spec names a data set with its own test set, for which
// --test-fraction defaults to 0.
func hasTestSet(spec string) bool {
	s := strings.ToLower(spec)
	switch strings.ReplaceAll(s, "_", "-") {
	case "mnist", "fashion-mnist", "fashionmnist", "cifar10", "cifar-10", "cifar100", "cifar-100":
		return true
	}
	return strings.HasPrefix(s, "folder:") && data.FolderSplit(spec[len("folder:"):])
}

// apply sets the image and augmentation settings of c from the flags.
func (f *imageFlags) apply(c *train.Config, data string, changed func(string) bool) error {
	isFolder := strings.HasPrefix(strings.ToLower(data), "folder:")
	for _, name := range []string{"image-size", "channels", "skip-bad-images"} {
		if changed(name) && !isFolder {
			return fmt.Errorf("--%s: only applies to --data folder:PATH", name)
		}
	}
	if changed("cifar100-labels") && !strings.HasPrefix(strings.ReplaceAll(strings.ToLower(data), "-", ""), "cifar100") {
		return errors.New("--cifar100-labels: only applies to --data cifar100")
	}
	c.Images.CIFAR100Labels = ""
	if f.cifar100Labels != "fine" {
		c.Images.CIFAR100Labels = f.cifar100Labels
	}
	if f.imageSize != "" {
		h, w, err := parseSize(f.imageSize)
		if err != nil {
			return err
		}
		c.Images.Folder.Height, c.Images.Folder.Width = h, w
	}
	if f.channels != 0 && f.channels != 1 && f.channels != 3 {
		return fmt.Errorf("--channels: want 1 or 3, got %d", f.channels)
	}
	c.Images.Folder.Channels, c.Images.Folder.SkipBad = f.channels, f.skipBad
	a, err := train.ParseAugment(f.augment, f.cropPad, f.cutout)
	if err != nil {
		return err
	}
	if changed("crop-pad") && !a.Crop {
		return errors.New("--crop-pad: only applies to --augment crop")
	}
	if changed("cutout") && a.Cutout == 0 {
		return errors.New("--cutout: only applies to --augment cutout")
	}
	c.Images.Augment = a
	return nil
}

// parseSize reads N or HxW (also H×W) as a positive height and width.
func parseSize(s string) (h, w int, err error) {
	parts := strings.Split(strings.ReplaceAll(strings.ToLower(s), "×", "x"), "x")
	bad := fmt.Errorf("--image-size: want N or HxW with positive sizes, such as 32 or 48x64, got %q", s)
	if len(parts) == 1 {
		parts = append(parts, parts[0])
	}
	if len(parts) != 2 {
		return 0, 0, bad
	}
	if h, err = strconv.Atoi(parts[0]); err != nil || h <= 0 {
		return 0, 0, bad
	}
	if w, err = strconv.Atoi(parts[1]); err != nil || w <= 0 {
		return 0, 0, bad
	}
	return h, w, nil
}

// model sets the WideResNet's depth, width and dropout, or a ResNet's blocks from --depth.
func (f *imageFlags) model(c *train.Config, model string, width int, dropout float64, changed func(string) bool) error {
	switch f.conv {
	case "direct":
	case "winograd":
		if model != "cnn" && model != "resnet" && model != "wrn" {
			return fmt.Errorf("--conv: only applies to --model cnn, resnet or wrn, not %s", model)
		}
		c.Model.Conv = f.conv
	default:
		return fmt.Errorf("--conv: want direct or winograd, got %q", f.conv)
	}
	switch model {
	case "wrn":
		if changed("blocks") {
			return errors.New("--blocks: does not apply to --model wrn (its --depth sets the blocks)")
		}
		if width < 1 {
			return fmt.Errorf("--width: must be ≥ 1, got %d", width)
		}
		if f.depth < 10 || (f.depth-4)%6 != 0 {
			return fmt.Errorf("--depth: WideResNet depth must be 6n+4 with n ≥ 1 (10, 16, 22, 28, ...), got %d", f.depth)
		}
		if !(dropout >= 0 && dropout < 1) {
			return fmt.Errorf("--dropout: must be in [0,1), got %g", dropout)
		}
		c.Model.Depth, c.Model.Width, c.Model.Dropout = f.depth, width, dropout
	case "resnet":
		if !changed("depth") {
			return nil
		}
		if changed("blocks") {
			return errors.New("--depth/--blocks: give one of them (depth = 6·blocks+2)")
		}
		if f.depth < 8 || (f.depth-2)%6 != 0 {
			return fmt.Errorf("--depth: ResNet depth must be 6·blocks+2 (8, 14, 20, 32, ...), got %d", f.depth)
		}
		c.Model.Blocks = (f.depth - 2) / 6
	default:
		if changed("depth") {
			return errors.New("--depth: only applies to --model wrn or resnet")
		}
	}
	return nil
}
