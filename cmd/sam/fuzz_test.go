package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// FuzzDecodePixels: no file makes predict's image decoding panic or allocate for a size other
// than the model's; what it accepts gives pixels in [0,1].
func FuzzDecodePixels(f *testing.F) {
	g := image.NewGray(image.Rect(0, 0, 6, 5))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 9)
	}
	var b bytes.Buffer
	png.Encode(&b, g)
	f.Add(b.Bytes())
	rgb := image.NewRGBA(image.Rect(0, 0, 6, 5))
	for i := range 30 {
		rgb.Set(i%6, i/6, color.RGBA{uint8(i), uint8(8 * i), 200, 255})
	}
	b.Reset()
	png.Encode(&b, rgb)
	f.Add(b.Bytes())
	b.Reset()
	jpeg.Encode(&b, rgb, nil)
	f.Add(b.Bytes())
	b.Reset()
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 60000, 1))) // another size
	f.Add(b.Bytes())
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		for _, c := range []int{1, 3} {
			dst := make([]float32, c*5*6)
			if err := decodePixels(file, c, 5, 6, dst); err != nil {
				continue
			}
			for _, v := range dst {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("pixel %v", v)
				}
			}
		}
	})
}
