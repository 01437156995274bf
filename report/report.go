package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/samgo/sam/internal/atomic"
)

// Figure size of every PNG.
var (
	Width  = 7 * vg.Inch
	Height = 5 * vg.Inch
	DPI    = 110
)

// Series is one named curve of a line plot.
type Series struct {
	Name string
	X, Y []float64
}

// Marker is a vertical line of a line plot (for example the position of a saved model), drawn
// dashed and named in the legend.
type Marker struct {
	Name string
	X    float64
}

// LinePlot describes a line plot.
type LinePlot struct {
	Title, XLabel, YLabel string
	Series                []Series
	Markers               []Marker
	LogY                  bool // logarithmic y axis (all values must be > 0)
}

// Write renders the plot as PNG into path, atomically.
func (lp LinePlot) Write(path string) error {
	p := plot.New()
	p.Title.Text = lp.Title
	p.X.Label.Text = lp.XLabel
	p.Y.Label.Text = lp.YLabel
	p.Add(plotter.NewGrid())
	if lp.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, s := range lp.Series {
		if len(s.X) != len(s.Y) || len(s.X) == 0 {
			return fmt.Errorf("plot %s: series %q has %d x and %d y values", lp.Title, s.Name, len(s.X), len(s.Y))
		}
		xy := make(plotter.XYs, len(s.X))
		for j := range s.X {
			if lp.LogY && !(s.Y[j] > 0) {
				return fmt.Errorf("plot %s: series %q has a value %g ≤ 0 on a log axis", lp.Title, s.Name, s.Y[j])
			}
			xy[j].X, xy[j].Y = s.X[j], s.Y[j]
			ymin, ymax = math.Min(ymin, s.Y[j]), math.Max(ymax, s.Y[j])
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return fmt.Errorf("plot %s: %w", lp.Title, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(2)
		l.Dashes = plotutil.Dashes(i)
		p.Add(l)
		if len(lp.Series) > 1 || s.Name != "" {
			p.Legend.Add(s.Name, l)
		}
	}
	// Headroom above the curves for the legend, when there is one.
	legend := len(lp.Series) > 1 || len(lp.Markers) > 0 || (len(lp.Series) == 1 && lp.Series[0].Name != "")
	switch {
	case !legend:
	case lp.LogY:
		p.Y.Max = ymax * math.Pow(ymax/ymin, 0.3)
	default:
		p.Y.Max = ymax + 0.3*(ymax-ymin)
	}
	for i, m := range lp.Markers {
		l, err := plotter.NewLine(plotter.XYs{{X: m.X, Y: ymin}, {X: m.X, Y: p.Y.Max}})
		if err != nil {
			return err
		}
		l.Color = color.Gray{Y: 90}
		l.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		if i > 0 {
			l.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
		}
		p.Add(l)
		p.Legend.Add(m.Name, l)
	}
	p.Legend.Top = legend
	return save(path, func(c draw.Canvas) { p.Draw(c) })
}

// Grid holds the values Z[j][i] of a function at (X[i], Y[j]).
type Grid struct {
	X, Y []float64
	Z    [][]float64
}

// gridXYZ adapts a Grid, with its values transformed, to plotter.GridXYZ.
type gridXYZ struct {
	g Grid
	f func(float64) float64
}

func (g gridXYZ) Dims() (c, r int)   { return len(g.g.X), len(g.g.Y) }
func (g gridXYZ) Z(c, r int) float64 { return g.f(g.g.Z[r][c]) }
func (g gridXYZ) X(c int) float64    { return g.g.X[c] }
func (g gridXYZ) Y(r int) float64    { return g.g.Y[r] }

// Point is a marked position on a heat map.
type Point struct {
	Name string
	X, Y float64
}

// HeatPlot describes a heat map with contour lines and a colour bar.
type HeatPlot struct {
	Title, XLabel, YLabel string
	ZLabel                string // the colour bar's label
	Grid                  Grid
	LogZ                  bool     // colours (and contours) evenly spaced in log₁₀ of the values, which must be > 0
	ZMin, ZMax            float64  // colour range; both 0 means the data's range. Values outside get the end colours.
	Contours              int      // contour lines, evenly spaced over the colour range; 0 means 10
	Points                []Point  // marked with a cross and named in the legend
	Paths                 []Series // polylines drawn over the map with a dot at each point, named in the title
}

// Write renders the heat map as PNG into path, atomically.
func (hp HeatPlot) Write(path string) error {
	g := hp.Grid
	if len(g.X) < 2 || len(g.Y) < 2 || len(g.Z) != len(g.Y) {
		return fmt.Errorf("plot %s: need a grid of at least 2×2 values", hp.Title)
	}
	f := func(v float64) float64 { return v }
	if hp.LogZ {
		f = math.Log10
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range g.Z {
		if len(row) != len(g.X) {
			return fmt.Errorf("plot %s: ragged grid", hp.Title)
		}
		for _, v := range row {
			if hp.LogZ && !(v > 0) {
				return fmt.Errorf("plot %s: value %g ≤ 0 on a log colour scale", hp.Title, v)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("plot %s: value %g is not finite", hp.Title, v)
			}
			lo, hi = math.Min(lo, f(v)), math.Max(hi, f(v))
		}
	}
	if hp.ZMin != 0 || hp.ZMax != 0 {
		if !(hp.ZMin < hp.ZMax) || (hp.LogZ && !(hp.ZMin > 0)) {
			return fmt.Errorf("plot %s: bad colour range [%g, %g]", hp.Title, hp.ZMin, hp.ZMax)
		}
		lo, hi = f(hp.ZMin), f(hp.ZMax)
	}
	if hi == lo {
		hi = lo + 1
	}
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(lo)
	cm.SetMax(hi)
	pal := cm.Palette(256)
	grid := gridXYZ{g, f}
	heat := plotter.NewHeatMap(grid, pal)
	heat.Min, heat.Max = lo, hi
	cols := pal.Colors()
	heat.Underflow, heat.Overflow = cols[0], cols[len(cols)-1]
	heat.Rasterized = true // no seams between the cells

	p := plot.New()
	p.Title.Text = hp.Title
	p.X.Label.Text = hp.XLabel
	p.Y.Label.Text = hp.YLabel
	p.X.Padding, p.Y.Padding = 0, 0
	p.Add(heat)
	n := hp.Contours
	if n <= 0 {
		n = 10
	}
	levels := make([]float64, n)
	for i := range levels {
		levels[i] = lo + (hi-lo)*(float64(i)+0.5)/float64(n)
	}
	c := plotter.NewContour(grid, levels, nil)
	c.Min, c.Max = lo, hi
	c.LineStyles = []draw.LineStyle{{Color: color.RGBA{R: 90, G: 150, B: 255, A: 255}, Width: vg.Points(0.8)}}
	p.Add(c)
	var names []string
	for _, pt := range hp.Points {
		s, err := plotter.NewScatter(plotter.XYs{{X: pt.X, Y: pt.Y}})
		if err != nil {
			return err
		}
		s.GlyphStyle.Shape = draw.CrossGlyph{}
		s.GlyphStyle.Radius = vg.Points(6)
		s.GlyphStyle.Color = color.RGBA{R: 0, G: 220, B: 255, A: 255}
		p.Add(s)
		names = append(names, pt.Name)
	}
	for i, ps := range hp.Paths {
		if err := addPath(p, ps, i); err != nil {
			return fmt.Errorf("plot %s: %w", hp.Title, err)
		}
		names = append(names, pathName(ps.Name, i))
	}
	if len(names) > 0 { // a legend inside the map would hide part of it
		p.Title.Text += " (× " + strings.Join(names, ", ") + ")"
	}

	bar := plot.New()
	cb := &plotter.ColorBar{ColorMap: cm, Vertical: true}
	bar.Add(cb)
	bar.HideX()
	bar.Y.Padding = 0
	bar.Y.Label.Text = hp.ZLabel
	if hp.LogZ {
		bar.Y.Tick.Marker = powTicks{}
	}
	return save(path, func(dc draw.Canvas) {
		// The colour bar: a strip of barW beside the map, its axis to the left of it, aligned
		// with the map's data area.
		const barW, gap = 0.3 * vg.Inch, 0.15 * vg.Inch
		trial := draw.Crop(dc, dc.Max.X-dc.Min.X-2*vg.Inch, 0, 0, 0)
		axisW := bar.DataCanvas(trial).Min.X - trial.Min.X
		main := draw.Crop(dc, 0, -(axisW + barW + 2*gap), 0, 0)
		p.Draw(main)
		da := p.DataCanvas(main)
		side := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: dc.Max.X - gap - barW - axisW, Y: da.Min.Y},
			Max: vg.Point{X: dc.Max.X - gap, Y: da.Max.Y},
		}}
		bar.Draw(side)
	})
}

// powTicks labels an axis in log₁₀ units with the values 10^t, at 1-2-5 steps.
type powTicks struct{}

func (powTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(min); e <= math.Ceil(max); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if t := math.Log10(v); t >= min-1e-9 && t <= max+1e-9 {
				ticks = append(ticks, plot.Tick{Value: t, Label: strconv.FormatFloat(v, 'g', 3, 64)})
			}
		}
	}
	if len(ticks) < 2 { // a narrow range: evenly spaced ticks, labelled with their values
		ticks = ticks[:0]
		for _, t := range (plot.DefaultTicks{}).Ticks(min, max) {
			if t.Label != "" {
				t.Label = strconv.FormatFloat(math.Pow(10, t.Value), 'g', 3, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// logTicks marks a logarithmic axis at m·10^e, labelling enough of them to read the axis even
// when it spans less than a decade: 1, 2 and 5 when that gives three labels, else every m,
// else ticks evenly spaced in value.
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	for _, labelled := range [][]float64{{1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		var ticks []plot.Tick
		n := 0
		for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
			for m := 1.0; m <= 9; m++ {
				v := m * math.Pow(10, e)
				if v < min*(1-1e-9) || v > max*(1+1e-9) {
					continue
				}
				t := plot.Tick{Value: v}
				for _, l := range labelled {
					if m == l {
						t.Label = strconv.FormatFloat(v, 'g', 3, 64)
						n++
					}
				}
				ticks = append(ticks, t)
			}
		}
		if n >= 3 {
			return ticks
		}
	}
	return plot.DefaultTicks{}.Ticks(min, max)
}

func save(path string, fn func(draw.Canvas)) error {
	img := vgimg.NewWith(vgimg.UseWH(Width, Height), vgimg.UseDPI(DPI))
	fn(draw.New(img))
	return atomic.WriteFile(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}
