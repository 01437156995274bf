package report

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"
)

func TestBarPlot(t *testing.T) {
	bp := BarPlot{Categories: []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}, XLabel: "parameter tensor",
		Panels: []BarPanel{
			{Title: "λ_max per tensor", YLabel: "λ_max", Bars: []Bars{{Name: "sgd", Values: []float64{4, 1, 9, 2}}, {Name: "sam", Values: []float64{2, 0.5, 3, 1}}}},
			{Title: "trace per tensor", YLabel: "trace", Bars: []Bars{{Name: "sgd", Values: []float64{40, 3, 20, 2}}, {Name: "sam", Values: []float64{20, 2, 9, 1}}}},
		}}
	path := filepath.Join(t.TempDir(), "bars.png")
	if err := bp.Write(path); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	b := img.Bounds()
	if b.Dx() != int(math.Round(7*float64(DPI))) || b.Dy() != int(math.Round(5*float64(DPI))) {
		t.Errorf("size %v, want 7×5 inches at %d dpi", b, DPI)
	}
	// Both series' colours fill bars in both panels (upper and lower half).
	for i := range 2 {
		want := color.RGBAModel.Convert(plotutil.Color(i)).(color.RGBA)
		for _, half := range []image.Rectangle{image.Rect(0, 0, b.Dx(), b.Dy()/2), image.Rect(0, b.Dy()/2, b.Dx(), b.Dy())} {
			if n := countColour(img, half, want); n < 200 {
				t.Errorf("series %d: only %d pixels of its colour in %v", i, n, half)
			}
		}
	}
	golden(t, path)
	for _, tc := range []struct {
		bp   BarPlot
		want string
	}{
		{BarPlot{}, "needs categories"},
		{BarPlot{Categories: []string{"a"}, Panels: []BarPanel{{Title: "x"}}}, "no bars"},
		{BarPlot{Categories: []string{"a"}, Panels: []BarPanel{{Title: "x", Bars: []Bars{{Values: []float64{1, 2}}}}}}, "2 values for 1 categories"},
		{BarPlot{Categories: []string{"a"}, Panels: []BarPanel{{Title: "x", Bars: []Bars{{Values: []float64{math.NaN()}}}}}}, "not finite"},
	} {
		if err := tc.bp.Write(filepath.Join(t.TempDir(), "bad.png")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func countColour(img image.Image, r image.Rectangle, c color.RGBA) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				n++
			}
		}
	}
	return n
}
