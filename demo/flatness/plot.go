package flatness

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The seed's colours: red for the sharp minimum, blue for the flat one.
var (
	red       = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	blue      = color.RGBA{R: 31, G: 90, B: 200, A: 255}
	lightBlue = color.NRGBA{R: 70, G: 130, B: 220, A: 120}
	black     = color.RGBA{A: 255}
	grey      = color.RGBA{R: 120, G: 120, B: 120, A: 255}
	orange    = color.RGBA{R: 230, G: 120, B: 0, A: 255}
	green     = color.RGBA{R: 0, G: 140, B: 70, A: 255}
)

// rhoColours are the colours of ρ = 0, 0.05, ... in the L^SAM figure (light to dark purple after black).
var rhoColours = []color.Color{
	black,
	color.RGBA{R: 0, G: 150, B: 200, A: 255},
	color.RGBA{R: 0, G: 160, B: 90, A: 255},
	color.RGBA{R: 230, G: 150, B: 0, A: 255},
	color.RGBA{R: 200, G: 0, B: 120, A: 255},
	color.RGBA{R: 110, G: 40, B: 170, A: 255},
	color.RGBA{R: 120, G: 80, B: 30, A: 255},
}

func rhoColour(i int) color.Color { return rhoColours[i%len(rhoColours)] }

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Label.TextStyle.Font.Size = vg.Points(12)
	p.Y.Label.TextStyle.Font.Size = vg.Points(12)
	p.X.Tick.Label.Font.Size = vg.Points(10)
	p.Y.Tick.Label.Font.Size = vg.Points(10)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Add(plotter.NewGrid())
	return p
}

func line(xs, ys []float64, c color.Color, width vg.Length, dashes ...vg.Length) *plotter.Line {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		panic(err) // only for NaN or Inf, which the demo never produces
	}
	l.Color = c
	l.Width = width
	l.Dashes = dashes
	return l
}

func points(xs, ys []float64, c color.Color, shape draw.GlyphDrawer, r vg.Length) *plotter.Scatter {
	pts := make(plotter.XYs, len(xs))
	for i := range xs {
		pts[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		panic(err)
	}
	s.Color = c
	s.Shape = shape
	s.Radius = r
	return s
}

// vline is a dashed vertical line at x from y0 to y1.
func vline(x, y0, y1 float64, c color.Color) *plotter.Line {
	return line([]float64{x, x}, []float64{y0, y1}, c, vg.Points(1), vg.Points(4), vg.Points(3))
}

// yRange returns the range of the wells: from below the lowest curve value to a bit above the ridge.
func (r *Result) yRange() (lo, hi float64) {
	lo = math.Inf(1)
	for _, g := range append([]Grid{r.Population}, r.Curves...) {
		for _, f := range g.F {
			lo = min(lo, f)
		}
	}
	top := r.Config.Problem.Population(r.PopRidge)
	hi = top + 2.2*(top-lo)
	return lo - 0.08*(hi-lo), hi
}

// EmpiricalPNG writes empirical.png: the population loss, the empirical losses, and the
// population loss at each empirical loss's sharp (red) and flat (blue) minimum.
func (r *Result) EmpiricalPNG(w io.Writer) error {
	s := r.Summary
	c := r.Config
	ylo, yhi := r.yRange()
	left := newPlot(fmt.Sprintf("%d empirical losses (N = %d examples each) and the population loss", c.Draws, c.Samples), "parameter w", "loss")
	for i, g := range r.Curves {
		l := line(g.W, g.F, lightBlue, vg.Points(1))
		left.Add(l)
		if i == 0 {
			left.Legend.Add("empirical loss L_S (one per sample)", l)
		}
	}
	pop := line(r.Population.W, r.Population.F, black, vg.Points(2.5))
	left.Add(pop)
	left.Legend.Add("population loss L_P", pop)
	rs := points(s.Sharp.W, s.Sharp.PopulationLoss, red, draw.CircleGlyph{}, vg.Points(4))
	bs := points(s.Flat.W, s.Flat.PopulationLoss, blue, draw.CircleGlyph{}, vg.Points(4))
	left.Add(rs, bs)
	left.Legend.Add("L_P at each L_S's sharp minimum", rs)
	left.Legend.Add("L_P at each L_S's flat minimum", bs)
	left.Legend.Top = true
	left.Legend.Left = false
	left.Y.Min, left.Y.Max = ylo, yhi
	left.X.Min, left.X.Max = c.Problem.Lo, c.Problem.Hi

	// Right: the same red and blue points as a strip chart of the excess population loss.
	right := newPlot("Population loss at the empirical minima", "", "population loss L_P(ŵ)")
	jitter := func(n int, x0 float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = x0 + 0.25*(float64(i)/math.Max(1, float64(n-1))-0.5)
		}
		return xs
	}
	right.Add(points(jitter(len(s.Sharp.PopulationLoss), 0), s.Sharp.PopulationLoss, red, draw.CircleGlyph{}, vg.Points(4)))
	right.Add(points(jitter(len(s.Flat.PopulationLoss), 1), s.Flat.PopulationLoss, blue, draw.CircleGlyph{}, vg.Points(4)))
	ms := line([]float64{-0.3, 0.3}, []float64{s.PopulationSharp, s.PopulationSharp}, red, vg.Points(1), vg.Points(4), vg.Points(3))
	mf := line([]float64{0.7, 1.3}, []float64{s.PopulationFlat, s.PopulationFlat}, blue, vg.Points(1), vg.Points(4), vg.Points(3))
	right.Add(ms, mf)
	right.Legend.Add("L_P's own minimum (dashed)", line(nil, nil, grey, vg.Points(1), vg.Points(4), vg.Points(3)))
	right.Legend.Top = true
	right.X.Tick.Marker = plot.ConstantTicks([]plot.Tick{
		{Value: 0, Label: fmt.Sprintf("sharp: std %.2g", s.Sharp.Std)},
		{Value: 1, Label: fmt.Sprintf("flat: std %.2g", s.Flat.Std)},
	})
	right.X.Min, right.X.Max = -0.5, 1.5
	lo, hi := math.Min(s.PopulationSharp, s.PopulationFlat), math.Inf(-1)
	for _, v := range append(append([]float64(nil), s.Sharp.PopulationLoss...), s.Flat.PopulationLoss...) {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	right.Y.Min, right.Y.Max = lo-0.1*(hi-lo), hi+0.35*(hi-lo)
	p := r.Config.Problem
	return renderWide(w, []panel{
		{p: left, width: 2.3, legendAt: &plotter.XY{X: p.SharpCenter + 0.3*(p.FlatCenter-p.SharpCenter), Y: yhi}},
		{p: right, width: 1},
	})
}

// panel is one plot of a figure, its relative width, and optionally where the top-left corner of
// its legend goes, in data coordinates (nil: gonum's own placement).
type panel struct {
	p        *plot.Plot
	width    float64
	legendAt *plotter.XY
	legend   *plot.Legend // a legend-only panel when p is nil
}

// renderWide draws panels side by side into a PNG.
func renderWide(w io.Writer, panels []panel) error {
	const height = 5.2 * vg.Inch
	total := 0.0
	for _, p := range panels {
		total += p.width
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(4.6*total)*vg.Inch, height), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	pad := vg.Millimeter * 4
	x := dc.Min.X
	for _, p := range panels {
		wi := vg.Length(p.width/total) * (dc.Max.X - dc.Min.X)
		sub := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x + pad, Y: dc.Min.Y + pad},
			Max: vg.Point{X: x + wi - pad/2, Y: dc.Max.Y - pad},
		}}
		if p.p == nil {
			p.legend.Top, p.legend.Left = true, true
			p.legend.Draw(draw.Crop(sub, 0, 0, 0, -vg.Inch))
			x += wi
			continue
		}
		var leg plot.Legend
		if p.legendAt != nil {
			leg, p.p.Legend = p.p.Legend, plot.NewLegend()
		}
		p.p.Draw(sub)
		if p.legendAt != nil {
			da := p.p.DataCanvas(sub)
			tx, ty := p.p.Transforms(&da)
			leg.Top, leg.Left = true, true
			leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: tx(p.legendAt.X), Y: da.Min.Y},
				Max: vg.Point{X: da.Max.X, Y: ty(p.legendAt.Y)},
			}})
			p.p.Legend = leg
		}
		x += wi
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// SAMObjectivePNG writes sam_objective.png: L^SAM of the first empirical loss for each ρ, exact
// (left) and SAM's first-order approximation (right).
func (r *Result) SAMObjectivePNG(w io.Writer) error {
	c := r.Config
	s := r.Summary
	ylo, yhi := r.yRange()
	yhi = max(yhi, 0) // keep the same top on both panels
	var panels []panel
	for k, title := range []string{
		"Exact L_S^SAM(w) = max over |ε| ≤ ρ of L_S(w+ε)",
		"SAM's first-order version L_S(w + ρ·sign L_S'(w))",
	} {
		p := newPlot(title, "parameter w", "loss")
		for i, rho := range c.Rhos {
			g := r.Exact[i]
			if k == 1 {
				g = r.FirstOrder[i]
			}
			wd := vg.Points(1.6)
			if rho == 0 {
				wd = vg.Points(2.4)
			}
			l := line(g.W, g.F, rhoColour(i), wd)
			p.Add(l)
			name := fmt.Sprintf("ρ = %g", rho)
			if rho == 0 {
				name = "ρ = 0 (L_S itself)"
			}
			p.Legend.Add(name, l)
		}
		vs := vline(s.Sharp.W[0], ylo, yhi, red)
		vf := vline(s.Flat.W[0], ylo, yhi, blue)
		p.Add(vs, vf)
		p.Legend.Add("sharp minimum of L_S", vs)
		p.Legend.Add("flat minimum of L_S", vf)
		p.Legend.Top = true
		p.Legend.Left = false
		p.Y.Min, p.Y.Max = ylo, yhi
		p.X.Min, p.X.Max = c.Problem.Lo, c.Problem.Hi
		panels = append(panels, panel{p: p, width: 1.5})
	}
	leg := panels[0].p.Legend
	for _, p := range panels {
		p.p.Legend = plot.NewLegend()
	}
	leg.TextStyle.Font.Size = vg.Points(12)
	return renderWide(w, append(panels, panel{width: 0.5, legend: &leg}))
}

// TrajectoriesPNG writes trajectories.png: the paths of GD and of SAM from every starting point
// (coloured by the basin where they end) and the population loss at their end points.
func (r *Result) TrajectoriesPNG(w io.Writer) error {
	c := r.Config
	s := r.Summary
	var panels []panel
	for k, name := range []string{"Gradient descent", fmt.Sprintf("SAM, ρ = %g", c.Rho)} {
		frac := s.GDFlatFraction
		if k == 1 {
			frac = s.SAMFlatFraction
		}
		p := newPlot(fmt.Sprintf("%s: %.0f%% of %d starts end in the flat basin", name, 100*frac, c.Starts), "parameter w", "step + 1 (log scale)")
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		var sharpLine, flatLine *plotter.Line
		steps := make([]float64, c.Steps+1)
		for i := range steps {
			steps[i] = float64(i + 1)
		}
		for _, t := range r.Trajs {
			path := t.GD
			if k == 1 {
				path = t.SAM
			}
			col := red
			if r.InFlatBasin(path[len(path)-1]) {
				col = blue
			}
			l := line(path, steps, color.NRGBA{R: col.R, G: col.G, B: col.B, A: 70}, vg.Points(0.8))
			p.Add(l)
			if col == red && sharpLine == nil {
				sharpLine = line(nil, nil, red, vg.Points(2))
			}
			if col == blue && flatLine == nil {
				flatLine = line(nil, nil, blue, vg.Points(2))
			}
		}
		rl := vline(s.Ridge, 1, float64(c.Steps+1), grey)
		p.Add(rl)
		if k == 1 && c.Anneal > 0 && c.Rho > 0 {
			y := float64(c.Steps - c.Anneal + 1)
			al := line([]float64{c.Problem.Lo, c.Problem.Hi}, []float64{y, y}, green, vg.Points(1), vg.Points(2), vg.Points(2))
			p.Add(al)
			p.Legend.Add(fmt.Sprintf("ρ drops to 0 (last %d steps)", c.Anneal), al)
		}
		if sharpLine != nil {
			p.Legend.Add("ends in the sharp basin", sharpLine)
		}
		if flatLine != nil {
			p.Legend.Add("ends in the flat basin", flatLine)
		}
		p.Legend.Add("ridge between the basins", rl)
		p.Legend.Top = true
		p.Legend.Left = false
		p.X.Min, p.X.Max = c.Problem.Lo, c.Problem.Hi
		p.Y.Min, p.Y.Max = 1, float64(c.Steps+1)*5 // room for the legend
		panels = append(panels, panel{p: p, width: 1.2})
	}
	// Population loss reached, against the starting point.
	p := newPlot("Population loss where each run ends", "starting point w₀", "population loss L_P(w_end)")
	var x, ygd, ysam []float64
	for _, t := range r.Trajs {
		x = append(x, t.W0)
		ygd = append(ygd, c.Problem.Population(t.GD[len(t.GD)-1]))
		ysam = append(ysam, c.Problem.Population(t.SAM[len(t.SAM)-1]))
	}
	g := points(x, ygd, orange, draw.CircleGlyph{}, vg.Points(3.5))
	sm := points(x, ysam, green, draw.TriangleGlyph{}, vg.Points(3.5))
	p.Add(g, sm)
	p.Legend.Add(fmt.Sprintf("gradient descent (mean %.4f)", s.GDPopulationLoss), g)
	p.Legend.Add(fmt.Sprintf("SAM (mean %.4f)", s.SAMPopulationLoss), sm)
	p.Legend.Top = true
	p.Legend.Left = false
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(ygd, ysam...) {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	p.Y.Min, p.Y.Max = lo-0.1*(hi-lo), hi+0.6*(hi-lo)
	p.X.Min, p.X.Max = c.Problem.Lo, c.Problem.Hi
	panels = append(panels, panel{p: p, width: 1.2})
	return renderWide(w, panels)
}

// PNG renders one of the figures by file name into memory.
func (r *Result) PNG(name string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch name {
	case "empirical.png":
		err = r.EmpiricalPNG(&b)
	case "sam_objective.png":
		err = r.SAMObjectivePNG(&b)
	case "trajectories.png":
		err = r.TrajectoriesPNG(&b)
	default:
		return nil, fmt.Errorf("flatness: no figure %q", name)
	}
	return b.Bytes(), err
}

// Figures are the file names of the demo's figures.
var Figures = []string{"empirical.png", "sam_objective.png", "trajectories.png"}
