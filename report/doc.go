// Package report draws the figures of the sharpness tools with gonum/plot: line plots of one or
// several series, and heat maps with contour lines and a colour bar. Each figure is written as
// a PNG atomically (a reader never sees half a file), together with nothing else: the CSV behind
// a figure is written by the caller.
package report
