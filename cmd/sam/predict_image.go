package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // image.Decode reads JPEG
	_ "image/png"  // and PNG
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// imageExt reports whether a file name has an image extension that predict reads.
func imageExt(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// imageFiles lists the images of a directory (not recursive), sorted by name.
func imageFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--input: %v", err)
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() && imageExt(e.Name()) && !strings.HasPrefix(e.Name(), ".") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("--input: %s holds no .png, .jpg or .jpeg files", dir)
	}
	slices.Sort(files)
	return files, nil
}

// decodePixels decodes a PNG or JPEG image of exactly c channels (1: grey, 3: RGB) × h × w and
// writes its pixels into dst (c·h·w values, row-major [C,H,W]) as byte/255, the scale the
// image data sets were trained on. Grey images given to an RGB model are repeated over the
// channels; colour images given to a grey model are converted with the standard luma weights.
// The size is checked from the header before any pixels are decoded. Errors are one line.
func decodePixels(b []byte, c, h, w int, dst []float32) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not a PNG or JPEG image: %v", err)
	}
	if cfg.Width != w || cfg.Height != h {
		return fmt.Errorf("%s image is %d×%d, the model takes %d×%d (resize it first)", format, cfg.Width, cfg.Height, w, h)
	}
	if c != 1 && c != 3 {
		return fmt.Errorf("the model takes %d-channel images; only grey (1) and RGB (3) are supported", c)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("corrupt %s image: %v", format, err)
	}
	r := img.Bounds()
	if r.Dx() != w || r.Dy() != h {
		return fmt.Errorf("%s image decodes to %d×%d, its header says %d×%d", format, r.Dx(), r.Dy(), w, h)
	}
	for y := range h {
		for x := range w {
			px := img.At(r.Min.X+x, r.Min.Y+y)
			if c == 1 {
				dst[y*w+x] = float32(color.GrayModel.Convert(px).(color.Gray).Y) / 255
				continue
			}
			cr, cg, cb, _ := px.RGBA()
			for k, v := range []uint32{cr, cg, cb} {
				dst[(k*h+y)*w+x] = float32(v>>8) / 255
			}
		}
	}
	return nil
}
