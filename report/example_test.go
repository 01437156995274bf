package report_test

import (
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"

	"github.com/samgo/sam/report"
)

// ExampleLinePlot draws a sharp and a flat loss around their minima and writes the figure as a
// PNG (atomically); the image is 7×5 inches at 110 dpi.
func ExampleLinePlot() {
	dir, err := os.MkdirTemp("", "report-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var sharp, flat report.Series
	sharp.Name, flat.Name = "sharp: 10w²", "flat: 0.5w²"
	for i := range 41 {
		w := -1 + float64(i)/20
		sharp.X, sharp.Y = append(sharp.X, w), append(sharp.Y, 10*w*w)
		flat.X, flat.Y = append(flat.X, w), append(flat.Y, 0.5*w*w)
	}
	path := filepath.Join(dir, "minima.png")
	lp := report.LinePlot{Title: "Two minima", XLabel: "w", YLabel: "loss", Series: []report.Series{sharp, flat},
		Markers: []report.Marker{{Name: "ρ = 0.2", X: 0.2}}}
	if err := lp.Write(path); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s pixels\n", filepath.Base(path), decodedSize(path))
	// Output:
	// minima.png: 770×550 pixels
}

// ExampleHeatPlot draws a loss surface with contour lines and a marked minimum.
func ExampleHeatPlot() {
	dir, err := os.MkdirTemp("", "report-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var g report.Grid
	for i := range 11 {
		g.X = append(g.X, -1+float64(i)/5)
		g.Y = append(g.Y, -1+float64(i)/5)
	}
	for _, y := range g.Y {
		row := make([]float64, len(g.X))
		for i, x := range g.X {
			row[i] = x*x + 4*y*y + 0.3*math.Sin(3*x)
		}
		g.Z = append(g.Z, row)
	}
	hp := report.HeatPlot{Title: "Loss surface", XLabel: "α", YLabel: "β", ZLabel: "loss", Grid: g,
		Points: []report.Point{{Name: "w", X: 0, Y: 0}}}
	path := filepath.Join(dir, "surface.png")
	if err := hp.Write(path); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s pixels\n", filepath.Base(path), decodedSize(path))
	// Output:
	// surface.png: 770×550 pixels
}

// decodedSize decodes the PNG at path and returns its size, "W×H".
func decodedSize(path string) string {
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		panic(err)
	}
	b := img.Bounds()
	return fmt.Sprintf("%d×%d", b.Dx(), b.Dy())
}
