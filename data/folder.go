package data

import (
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"github.com/samgo/sam/tensor"
)

// ImageOptions tune how Open reads folder:PATH.
type ImageOptions struct {
	Height   int  `json:"height,omitempty"`   // resize every image to Height × Width; 0 = the first image's size
	Width    int  `json:"width,omitempty"`    // (set both or neither)
	Channels int  `json:"channels,omitempty"` // 1 (grey) or 3 (RGB); 0 = 1 if the first image is grey, else 3
	SkipBad  bool `json:"skip_bad,omitempty"` // skip unreadable images (Source.Skipped counts them) instead of failing
}

// FolderSplit reports whether the image folder path holds train/ and test/ subfolders, which
// openFolder reads as the training pool and the test set.
func FolderSplit(path string) bool {
	return isDir(filepath.Join(path, "train")) && isDir(filepath.Join(path, "test"))
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// imageFile is one image of a folder and its class.
type imageFile struct {
	path  string
	label int32
}

// openFolder reads images in torchvision's ImageFolder layout: one subfolder per class, named
// after it, holding PNG and JPEG files (.png, .jpg, .jpeg, any case); other files and
// subfolders starting with "." are ignored. Classes are numbered in the sorted order of their
// names. When path holds train/ and test/ (FolderSplit), they are the training pool and the
// test set and must have the same classes. Every image is resized (bilinear) to the size of
// o, by default the first image's, and turned into o.Channels planes of pixels in [0,1]
// (grey is the ITU-R 601 luma of the RGB values; transparent pixels are black). Images decode
// on the kernels' worker threads (tensor.Parallel). An unreadable image is an error naming its
// path, or with o.SkipBad is left out and counted in Source.Skipped.
func openFolder(path string, o ImageOptions) (*Source, error) {
	spec := "folder:" + path
	if !isDir(path) {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("data: %s: folder %s does not exist", spec, path)
		}
		return nil, fmt.Errorf("data: %s: %s is not a folder", spec, path)
	}
	if o.Channels != 0 && o.Channels != 1 && o.Channels != 3 {
		return nil, fmt.Errorf("data: %s: --channels must be 1 or 3, got %d", spec, o.Channels)
	}
	if o.Height < 0 || o.Width < 0 || (o.Height == 0) != (o.Width == 0) {
		return nil, fmt.Errorf("data: %s: --image-size must be positive, got %d×%d", spec, o.Height, o.Width)
	}
	trainDir, testDir := path, ""
	if FolderSplit(path) {
		trainDir, testDir = filepath.Join(path, "train"), filepath.Join(path, "test")
	}
	classes, trainFiles, err := listImages(spec, trainDir)
	if err != nil {
		return nil, err
	}
	var testFiles []imageFile
	if testDir != "" {
		var testClasses []string
		if testClasses, testFiles, err = listImages(spec, testDir); err != nil {
			return nil, err
		}
		if !slices.Equal(classes, testClasses) {
			return nil, fmt.Errorf("data: %s: the classes of %s (%s) differ from those of %s (%s)", spec,
				testDir, strings.Join(testClasses, ", "), trainDir, strings.Join(classes, ", "))
		}
	}
	o, err = imageGeometry(spec, o, append(slices.Clone(trainFiles), testFiles...))
	if err != nil {
		return nil, err
	}
	train, n, err := decodeImages(spec, o, trainFiles, len(classes))
	if err != nil {
		return nil, err
	}
	src := &Source{Name: spec, Train: train, Image: true, Channelwise: true, Skipped: n}
	train.ClassNames = classes
	if testDir != "" {
		if src.Test, n, err = decodeImages(spec, o, testFiles, len(classes)); err != nil {
			return nil, err
		}
		src.Test.ClassNames = classes
		src.Skipped += n
	}
	return src, nil
}

// listImages returns the sorted class folders of dir and their image files, sorted by class
// and then by name.
func listImages(spec, dir string) ([]string, []imageFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: %v", spec, err)
	}
	var classes []string
	var files []imageFile
	for _, e := range entries { // ReadDir sorts by name
		if strings.HasPrefix(e.Name(), ".") || !isDir(filepath.Join(dir, e.Name())) {
			continue
		}
		cdir := filepath.Join(dir, e.Name())
		imgs, err := os.ReadDir(cdir)
		if err != nil {
			return nil, nil, fmt.Errorf("data: %s: %v", spec, err)
		}
		label := int32(len(classes))
		count := 0
		for _, f := range imgs {
			if strings.HasPrefix(f.Name(), ".") || f.IsDir() || !imageExt(f.Name()) {
				continue
			}
			files = append(files, imageFile{path: filepath.Join(cdir, f.Name()), label: label})
			count++
		}
		if count == 0 {
			return nil, nil, fmt.Errorf("data: %s: class folder %s holds no .png, .jpg or .jpeg files", spec, cdir)
		}
		classes = append(classes, e.Name())
	}
	if len(classes) == 0 {
		return nil, nil, fmt.Errorf("data: %s: %s has no class subfolders (want one folder of PNG or JPEG images per class)", spec, dir)
	}
	return classes, files, nil
}

func imageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// imageGeometry fills in the size and channels of o that are 0 from the first readable image.
// With o.SkipBad unreadable images before it are passed over (decodeImages counts them).
func imageGeometry(spec string, o ImageOptions, files []imageFile) (ImageOptions, error) {
	if o.Height > 0 && o.Channels > 0 {
		return o, nil
	}
	for _, f := range files {
		cfg, err := decodeConfig(f.path)
		if err != nil {
			if o.SkipBad {
				continue
			}
			return o, fmt.Errorf("data: %s: %v", spec, err)
		}
		if o.Height == 0 {
			o.Height, o.Width = cfg.Height, cfg.Width
		}
		if o.Channels == 0 {
			o.Channels = 3
			if cfg.ColorModel == color.GrayModel || cfg.ColorModel == color.Gray16Model {
				o.Channels = 1
			}
		}
		return o, nil
	}
	return o, fmt.Errorf("data: %s: none of its %d images can be read", spec, len(files))
}

func decodeConfig(path string) (image.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return image.Config{}, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return cfg, fmt.Errorf("%s: %v", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, fmt.Errorf("%s: empty image", path)
	}
	return cfg, nil
}

// decodeImages decodes files into a Set of shape [Channels, Height, Width] on the worker
// threads. With o.SkipBad the unreadable ones are left out and counted; otherwise the first of
// them (in file order) is the error.
func decodeImages(spec string, o ImageOptions, files []imageFile, classes int) (*Set, int, error) {
	d := o.Channels * o.Height * o.Width
	x := make([]float32, len(files)*d)
	errs := make([]error, len(files))
	tensor.Parallel(len(files), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			errs[i] = decodeImage(files[i].path, o, x[i*d:(i+1)*d])
		}
	})
	s := &Set{Shape: []int{o.Channels, o.Height, o.Width}, Classes: classes}
	skipped := 0
	for i, err := range errs {
		if err != nil {
			if !o.SkipBad {
				return nil, 0, fmt.Errorf("data: %s: %v", spec, err)
			}
			skipped++
			continue
		}
		// Move the good rows to the front, in order.
		j := i - skipped
		copy(x[j*d:(j+1)*d], x[i*d:(i+1)*d])
		s.Labels = append(s.Labels, files[i].label)
	}
	if len(s.Labels) == 0 {
		return nil, 0, fmt.Errorf("data: %s: none of its %d images can be read", spec, len(files))
	}
	s.X = x[:len(s.Labels)*d]
	return s, skipped, nil
}

// decodeImage reads the image at path into dst: o.Channels planes of o.Height × o.Width pixels
// in [0,1].
func decodeImage(path string, o ImageOptions, dst []float32) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("%s: empty image", path)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, o.Width, o.Height))
	if b.Dx() == o.Width && b.Dy() == o.Height {
		draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	} else {
		draw.BiLinear.Scale(rgba, rgba.Bounds(), img, b, draw.Src, nil)
	}
	rgbaPlanes(rgba, o.Channels, dst)
	return nil
}

// rgbaPlanes writes img's pixels into dst as planes of values in [0,1]: red, green and blue for
// channels = 3, the ITU-R 601 luma (as color.GrayModel) for channels = 1.
func rgbaPlanes(img *image.RGBA, channels int, dst []float32) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	p := w * h
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := range w {
			r, g, b := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
			i := y*w + x
			if channels == 1 {
				// color.GrayModel on 16-bit values: (19595r + 38470g + 7471b + 1<<15) >> 24.
				r16, g16, b16 := r*0x101, g*0x101, b*0x101
				dst[i] = float32((19595*r16+38470*g16+7471*b16+1<<15)>>24) / 255
				continue
			}
			dst[i] = float32(r) / 255
			dst[p+i] = float32(g) / 255
			dst[2*p+i] = float32(b) / 255
		}
	}
}
