package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/samgo/sam/param"
	"github.com/samgo/sam/report"
	"github.com/samgo/sam/sharpness"
)

// Parameter subsets of `sam sharpness`: --params restricts the Hessian measures to the diagonal
// block of some tensors, --by-layer measures every tensor's block alone.

func (f *sharpnessFlags) registerSubsets(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.params, "params", nil, "glob patterns over the parameter names (conv2.*, *.weight; comma-separated): measure the loss as a function of those parameters alone (λ, trace, density of the diagonal block; SAM and ε-sharpness perturb only them; default: all)")
	fl.BoolVar(&f.saveEig, "save-eigenvectors", false, "write the top-k Ritz vectors (unit norm; zero outside --params) as eigenvector_1.safetensors … in --out, tensors named like the weights, for sam landscape --direction FILE")
	fl.BoolVar(&f.byLayer, "by-layer", false, "also λ_max and trace of each parameter tensor's diagonal block (of the --params tensors): a table, by_layer in sharpness.json, by_layer.png")
}

// selectSpans returns the spans that --params names (every span without it).
func (f *sharpnessFlags) selectSpans(l *loaded) ([]param.Span, error) {
	if len(f.params) == 0 {
		return l.model.Layout.Spans, nil
	}
	return sharpness.SelectSpans(&l.model.Layout, f.params)
}

func spanSize(spans []param.Span) int {
	n := 0
	for _, s := range spans {
		n += s.Size()
	}
	return n
}

// spanMask marks the coordinates of spans (nil when not asked: no restriction).
func spanMask(spans []param.Span, n int, on bool) []bool {
	if !on {
		return nil
	}
	m := make([]bool, n)
	for _, s := range spans {
		for i := s.Off; i < s.End(); i++ {
			m[i] = true
		}
	}
	return m
}

// restrict returns the block of a on spans when asked, else a.
func restrict(a sharpness.Operator, spans []param.Span, block bool) (sharpness.Operator, error) {
	if !block {
		return a, nil
	}
	return sharpness.NewBlock(a, spans)
}

func printByLayer(w io.Writer, layers []sharpness.LayerCurvature) {
	if len(layers) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tensor\tsize\tlambda_max\tresidual\ttrace\t± stderr\t")
	for _, l := range layers {
		se := fmt.Sprintf("%.2g", l.TraceStdErr)
		if l.TraceExact {
			se = "exact"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.5g\t%.1g\t%.5g\t%s\t\n", l.Name, l.Size, l.LambdaMax, l.Residual, l.Trace, se)
	}
	tw.Flush()
}

// writeByLayer draws by_layer.png: λ_max per tensor, and the trace below it when measured.
func writeByLayer(dir, label, curv string, layers []sharpness.LayerCurvature, trace bool) error {
	bp := byLayerPlot(curv, []string{label}, [][]sharpness.LayerCurvature{layers}, trace)
	return bp.Write(filepath.Join(dir, "by_layer.png"))
}

// byLayerPlot is the bar chart of per-tensor curvature of one or more models (same tensors).
func byLayerPlot(curv string, labels []string, runs [][]sharpness.LayerCurvature, trace bool) report.BarPlot {
	var cats []string
	for _, l := range runs[0] {
		cats = append(cats, l.Name)
	}
	name := curvatureName(curv)
	lam := report.BarPanel{Title: "Top eigenvalue of each tensor's diagonal block of the " + name, YLabel: "λ_max"}
	tr := report.BarPanel{Title: "Trace of each tensor's diagonal block of the " + name, YLabel: "trace"}
	for i, layers := range runs {
		a, b := report.Bars{Name: labels[i]}, report.Bars{Name: labels[i]}
		for _, l := range layers {
			a.Values = append(a.Values, l.LambdaMax)
			b.Values = append(b.Values, l.Trace)
		}
		lam.Bars, tr.Bars = append(lam.Bars, a), append(tr.Bars, b)
	}
	bp := report.BarPlot{Categories: cats, XLabel: "parameter tensor", Panels: []report.BarPanel{lam}}
	if trace {
		bp.Panels = append(bp.Panels, tr)
	}
	return bp
}

// curvatureName is the matrix of --curvature in words.
func curvatureName(c string) string {
	switch c {
	case "ggn":
		return "generalised Gauss-Newton matrix"
	case "fisher":
		return "empirical Fisher"
	}
	return "Hessian"
}

// saveEigenvectors writes each Ritz vector of eig (of op: the whole operator or a block) as
// eigenvector_I.safetensors in dir, in the checkpoint's tensor names, and returns the paths.
func saveEigenvectors(dir string, l *loaded, op sharpness.Operator, eig sharpness.Eigen, r *SharpnessReport) ([]string, error) {
	var paths []string
	full := make([]float64, len(l.w))
	for i, v := range eig.Vectors {
		clear(full)
		if b, ok := op.(*sharpness.Block); ok {
			b.Embed(full, v)
		} else {
			copy(full, v)
		}
		d := make([]float32, len(full))
		for j, x := range full {
			d[j] = float32(x)
		}
		meta := map[string]string{"format": "sam/direction", "model": r.Model, "curvature": r.Curvature,
			"index": strconv.Itoa(i + 1), "eigenvalue": strconv.FormatFloat(eig.Values[i], 'g', -1, 64),
			"residual": strconv.FormatFloat(eig.Residuals[i], 'g', -1, 64), "data": r.Data}
		if len(r.Params) > 0 {
			meta["params"] = strings.Join(r.Params, ",")
		}
		p := filepath.Join(dir, "eigenvector_"+strconv.Itoa(i+1)+".safetensors")
		if err := sharpness.SaveDirection(p, &l.model.Layout, d, nil, nil, meta); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
