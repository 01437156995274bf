package report

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata")

// bowl is a sample landscape: an anisotropic basin.
func bowl() Grid {
	var g Grid
	for i := range 21 {
		g.X = append(g.X, -1+float64(i)/10)
	}
	g.Y = g.X
	for _, y := range g.Y {
		row := make([]float64, len(g.X))
		for i, x := range g.X {
			row[i] = 0.05 + 3*x*x + 0.5*y*y + 0.3*x*y
		}
		g.Z = append(g.Z, row)
	}
	return g
}

func samples() (LinePlot, HeatPlot) {
	var a, b Series
	a.Name, b.Name = "sharp (SGD)", "flat (SAM)"
	for i := range 41 {
		x := -1 + float64(i)/20
		a.X, a.Y = append(a.X, x), append(a.Y, 0.05+4*x*x)
		b.X, b.Y = append(b.X, x), append(b.Y, 0.05+x*x)
	}
	lp := LinePlot{Title: "Loss along a filter-normalised direction", XLabel: "α", YLabel: "training loss",
		Series: []Series{a, b}, Markers: []Marker{{Name: "trained weights", X: 0}}, LogY: true}
	hp := HeatPlot{Title: "Loss on a random plane", XLabel: "α", YLabel: "β", ZLabel: "training loss",
		Grid: bowl(), LogZ: true, Points: []Point{{Name: "trained weights", X: 0, Y: 0}}}
	return lp, hp
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func golden(t *testing.T, path string) {
	t.Helper()
	want := filepath.Join("testdata", filepath.Base(path))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(want, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	ref, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create the golden images)", err)
	}
	a, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	b, err := png.Decode(bytes.NewReader(ref))
	if err != nil {
		t.Fatal(err)
	}
	if f := differing(a, b); f > 0.005 {
		t.Errorf("%s: %.2f%% of the pixels differ from %s; look at both, then rerun with -update if the change is intended", path, 100*f, want)
	}
}

// differing is the fraction of pixels whose colours differ by more than 8/255 in a channel
// (1 when the sizes differ). gonum's cmpimg needs a module this project does not carry.
func differing(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 1
	}
	r := a.Bounds()
	bad := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ca := color.RGBAModel.Convert(a.At(x, y)).(color.RGBA)
			cb := color.RGBAModel.Convert(b.At(x, y)).(color.RGBA)
			d := max(absDiff(ca.R, cb.R), absDiff(ca.G, cb.G), absDiff(ca.B, cb.B))
			if d > 8 {
				bad++
			}
		}
	}
	return float64(bad) / float64(r.Dx()*r.Dy())
}

func absDiff(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// colourCount counts the distinct colours in a rectangle.
func colourCount(img image.Image, r image.Rectangle) int {
	seen := map[color.RGBA]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
		}
	}
	return len(seen)
}

func TestLinePlot(t *testing.T) {
	lp, _ := samples()
	path := filepath.Join(t.TempDir(), "line.png")
	if err := lp.Write(path); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	if b := img.Bounds(); b.Dx() != int(math.Round(7*float64(DPI))) || b.Dy() != int(math.Round(5*float64(DPI))) {
		t.Errorf("size %v, want 7×5 inches at %d dpi", b, DPI)
	}
	golden(t, path)
}

func TestHeatPlot(t *testing.T) {
	_, hp := samples()
	path := filepath.Join(t.TempDir(), "heat.png")
	if err := hp.Write(path); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	b := img.Bounds()
	// The heat map fills the middle of the figure with many colours; the colour bar at the
	// right edge is a vertical gradient: constant along a row, changing down a column.
	if n := colourCount(img, image.Rect(b.Dx()/4, b.Dy()/3, b.Dx()/2, b.Dy()*2/3)); n < 30 {
		t.Errorf("heat map area has only %d colours", n)
	}
	x := b.Max.X - int(0.3*float64(DPI)) // inside the bar
	top := color.RGBAModel.Convert(img.At(x, b.Dy()/4)).(color.RGBA)
	bottom := color.RGBAModel.Convert(img.At(x, b.Dy()*3/4)).(color.RGBA)
	if top == bottom {
		t.Errorf("no colour gradient at x=%d (colour bar missing?): %v", x, top)
	}
	golden(t, path)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	lp, hp := samples()
	lp.Series[0].Y[3] = 0 // log axis
	hp2 := hp
	hp2.Grid.Z = hp.Grid.Z[:3]
	hp3 := hp
	hp3.ZMin, hp3.ZMax = 2, 1
	for name, err := range map[string]error{
		"zero on log axis": lp.Write(filepath.Join(dir, "a.png")),
		"ragged grid":      hp2.Write(filepath.Join(dir, "b.png")),
		"bad range":        hp3.Write(filepath.Join(dir, "c.png")),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad input wrote %d files", len(entries))
	}
}
