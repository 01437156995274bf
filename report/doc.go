// Package report draws the figures of the sharpness tools with gonum/plot: line plots of one or
// several series, and heat maps with contour lines and a colour bar. Each figure is written as
// a PNG atomically (a reader never sees half a file), together with nothing else: the CSV behind
// a figure is written by the caller.
//
// The main types: LinePlot (Series, vertical Markers, optional log y axis) and HeatPlot (a
// Grid of values, contours, a colour bar, marked Points); Write renders either to a PNG of
// Width × Height at DPI.
//
//	lp := report.LinePlot{Title: "loss", XLabel: "step", YLabel: "loss",
//		Series: []report.Series{{Name: "SAM", X: steps, Y: losses}}}
//	err := lp.Write("loss.png")
package report
