package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bars is one named set of bar heights, one per category.
type Bars struct {
	Name   string
	Values []float64
}

// BarPanel is one bar chart: grouped bars (one colour per Bars) over the categories.
type BarPanel struct {
	Title, YLabel string
	Bars          []Bars
}

// BarPlot is a figure of bar charts stacked vertically, all over the same categories (for
// example one bar per parameter tensor: λ_max above, the trace below).
type BarPlot struct {
	Categories []string
	XLabel     string
	Panels     []BarPanel
}

// Write renders the figure as PNG into path, atomically.
func (bp BarPlot) Write(path string) error {
	if len(bp.Categories) == 0 || len(bp.Panels) == 0 {
		return fmt.Errorf("plot: a bar chart needs categories and panels")
	}
	plots := make([][]*plot.Plot, len(bp.Panels))
	for r, pn := range bp.Panels {
		p := plot.New()
		p.Title.Text = pn.Title
		p.Y.Label.Text = pn.YLabel
		if r == len(bp.Panels)-1 {
			p.X.Label.Text = bp.XLabel
		}
		p.Add(plotter.NewGrid())
		k := len(pn.Bars)
		if k == 0 {
			return fmt.Errorf("plot %s: no bars", pn.Title)
		}
		// Bars of one category side by side within 80% of the category's width.
		w := vg.Length(float64(Width-1.5*vg.Inch) * 0.8 / float64(len(bp.Categories)*k))
		lo, hi := 0.0, 0.0
		for i, b := range pn.Bars {
			if len(b.Values) != len(bp.Categories) {
				return fmt.Errorf("plot %s: %q has %d values for %d categories", pn.Title, b.Name, len(b.Values), len(bp.Categories))
			}
			for _, v := range b.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return fmt.Errorf("plot %s: %q has a value %g that is not finite", pn.Title, b.Name, v)
				}
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			bc, err := plotter.NewBarChart(plotter.Values(b.Values), w)
			if err != nil {
				return fmt.Errorf("plot %s: %w", pn.Title, err)
			}
			bc.Color = plotutil.Color(i)
			bc.LineStyle.Width = 0
			bc.Offset = vg.Length(float64(i)-float64(k-1)/2) * w
			p.Add(bc)
			if b.Name != "" {
				p.Legend.Add(b.Name, bc)
			}
		}
		p.Legend.Top = true
		if hi > lo {
			p.Y.Max = hi + 0.15*(hi-lo) // room for the legend
		}
		p.NominalX(bp.Categories...)
		p.X.Min, p.X.Max = -0.5, float64(len(bp.Categories))-0.5
		p.Legend.XOffs = -vg.Points(6)
		plots[r] = []*plot.Plot{p}
	}
	return save(path, func(dc draw.Canvas) {
		tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(8), PadTop: vg.Points(4), PadBottom: vg.Points(4)}
		canvases := plot.Align(plots, tiles, dc)
		for r := range plots {
			plots[r][0].Draw(canvases[r][0])
		}
	})
}
