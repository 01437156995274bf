package report

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// pathColours are bright on the heat map's dark-to-light palette.
var pathColours = []color.RGBA{
	{R: 0, G: 230, B: 255, A: 255},  // cyan
	{R: 255, G: 60, B: 200, A: 255}, // magenta
	{R: 120, G: 255, B: 60, A: 255}, // green
}

// PathColour is the colour of the i-th path of a heat plot.
func PathColour(i int) color.RGBA { return pathColours[i%len(pathColours)] }

func pathName(name string, i int) string {
	names := []string{"cyan", "magenta", "green"}
	return name + " (" + names[i%len(names)] + ")"
}

func addPath(p *plot.Plot, s Series, i int) error {
	if len(s.X) != len(s.Y) || len(s.X) < 2 {
		return fmt.Errorf("path %q has %d x and %d y values (want ≥ 2 points)", s.Name, len(s.X), len(s.Y))
	}
	xy := make(plotter.XYs, len(s.X))
	for j := range s.X {
		xy[j].X, xy[j].Y = s.X[j], s.Y[j]
	}
	l, sc, err := plotter.NewLinePoints(xy)
	if err != nil {
		return err
	}
	c := PathColour(i)
	l.Color, l.Width = c, vg.Points(1.8)
	sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
	p.Add(l, sc)
	return nil
}
