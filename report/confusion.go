package report

import (
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ConfusionPlot describes a confusion matrix: Counts[i][j] examples of true class i predicted
// as class j. Each cell is shaded by its share of its row (the recall of class i on the
// diagonal) and shows its count.
type ConfusionPlot struct {
	Title  string
	Names  []string // class names, one per row and column
	Counts [][]int
}

type confusionGrid struct {
	share [][]float64
}

func (g confusionGrid) Dims() (c, r int)   { return len(g.share), len(g.share) }
func (g confusionGrid) Z(c, r int) float64 { return g.share[len(g.share)-1-r][c] }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

// Write renders the matrix as PNG into path, atomically; true classes run down the rows from
// the top, predictions along the columns.
func (cp ConfusionPlot) Write(path string) error {
	k := len(cp.Names)
	if k < 2 || len(cp.Counts) != k {
		return fmt.Errorf("plot %s: need a k×k matrix for k ≥ 2 classes", cp.Title)
	}
	share := make([][]float64, k)
	for i, row := range cp.Counts {
		if len(row) != k {
			return fmt.Errorf("plot %s: ragged matrix", cp.Title)
		}
		n := 0
		for _, v := range row {
			if v < 0 {
				return fmt.Errorf("plot %s: negative count %d", cp.Title, v)
			}
			n += v
		}
		share[i] = make([]float64, k)
		for j, v := range row {
			if n > 0 {
				share[i][j] = float64(v) / float64(n)
			}
		}
	}
	p := plot.New()
	p.Title.Text = cp.Title
	p.X.Label.Text = "predicted class"
	p.Y.Label.Text = "true class"
	heat := plotter.NewHeatMap(confusionGrid{share}, blues{})
	heat.Min, heat.Max = 0, 1
	p.Add(heat)
	var xy plotter.XYs
	var labels []string
	for i, row := range cp.Counts {
		for j, v := range row {
			xy = append(xy, plotter.XY{X: float64(j), Y: float64(k - 1 - i)})
			labels = append(labels, strconv.Itoa(v))
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return err
	}
	fontSize := vg.Points(max(6, min(14, 120/float64(k))))
	for i := range lab.TextStyle {
		lab.TextStyle[i].XAlign, lab.TextStyle[i].YAlign = draw.XCenter, draw.YCenter
		lab.TextStyle[i].Font.Size = fontSize
		lab.TextStyle[i].Color = color.Black
		r, c := i/k, i%k
		if share[r][c] > 0.55 {
			lab.TextStyle[i].Color = color.White
		}
	}
	p.Add(lab)
	xt, yt := make([]plot.Tick, k), make([]plot.Tick, k)
	for i, n := range cp.Names {
		xt[i] = plot.Tick{Value: float64(i), Label: n}
		yt[i] = plot.Tick{Value: float64(k - 1 - i), Label: n}
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5, -0.5, float64(k)-0.5
	long := 0
	for _, n := range cp.Names {
		long = max(long, len([]rune(n)))
	}
	if k*long > 40 {
		p.X.Tick.Label.Rotation = 0.6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	}
	return save(path, func(dc draw.Canvas) { p.Draw(dc) })
}

// blues is a white-to-dark-blue palette of 64 colours.
type blues struct{}

func (blues) Colors() []color.Color {
	cs := make([]color.Color, 64)
	for i := range cs {
		t := float64(i) / 63
		cs[i] = color.RGBA{R: uint8(255 - 247*t), G: uint8(255 - 207*t), B: uint8(255 - 148*t), A: 255}
	}
	return cs
}

var _ palette.Palette = blues{}
