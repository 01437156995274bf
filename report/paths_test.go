package report

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHeatPlotPaths: paths are drawn over the heat map in their colours; a path of one point is
// an error.
func TestHeatPlotPaths(t *testing.T) {
	_, hp := samples()
	hp.Paths = []Series{
		{Name: "sgd", X: []float64{-0.9, -0.5, -0.2, 0}, Y: []float64{0.8, 0.3, 0.1, 0}},
		{Name: "sam", X: []float64{-0.9, -0.6, -0.4, 0.1}, Y: []float64{0.8, 0.6, 0.2, -0.1}},
	}
	path := filepath.Join(t.TempDir(), "paths.png")
	if err := hp.Write(path); err != nil {
		t.Fatal(err)
	}
	img := decode(t, path)
	for i := range hp.Paths {
		if n := countColour(img, img.Bounds(), PathColour(i)); n < 100 {
			t.Errorf("path %d: %d pixels of its colour", i, n)
		}
	}
	golden(t, path)
	hp.Paths = []Series{{Name: "x", X: []float64{0}, Y: []float64{0}}}
	if err := hp.Write(path); err == nil || !strings.Contains(err.Error(), "≥ 2 points") {
		t.Errorf("error %v", err)
	}
}
