package sharpness

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam/nn"
	"github.com/samgo/sam/safetensors"
)

func TestDirectionFiles(t *testing.T) {
	o, w := convObjective(t, nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}, 6)
	l, bufs := &o.Model.Layout, o.Model.Buffers()
	d := Direction(l, w, 4)
	stats := NewStats(o.Model).Direction()
	dir := t.TempDir()
	p := filepath.Join(dir, "d.safetensors")
	if err := SaveDirection(p, l, d, bufs, stats, map[string]string{"index": "1"}); err != nil {
		t.Fatal(err)
	}
	got, gs, err := LoadDirection(p, l, bufs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range d {
		if got[i] != d[i] {
			t.Fatalf("entry %d: %g, saved %g", i, got[i], d[i])
		}
	}
	if len(gs) != len(bufs) || gs[1][0] != stats[1][0] {
		t.Fatalf("statistics not read back")
	}
	// Without buffers in the file: nil statistics.
	p2 := filepath.Join(dir, "w.safetensors")
	if err := SaveDirection(p2, l, d, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, gs, err := LoadDirection(p2, l, bufs); err != nil || gs != nil {
		t.Fatalf("stats %v, err %v", gs, err)
	}
	// Bad files.
	ts, _, _ := safetensors.ReadFile(p2)
	for _, tc := range []struct {
		name string
		edit func([]safetensors.Tensor) []safetensors.Tensor
		want string
	}{
		{"missing", func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[1:] }, "lacks the parameter tensors conv1.weight"},
		{"extra", func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Tensor{Name: "head.weight", Shape: []int{1}, Data: []float32{1}})
		}, "head.weight is not a parameter"},
		{"shape", func(ts []safetensors.Tensor) []safetensors.Tensor {
			c := append([]safetensors.Tensor(nil), ts...)
			c[0] = safetensors.Tensor{Name: c[0].Name, Shape: []int{len(c[0].Data)}, Data: c[0].Data}
			return c
		}, "has shape"},
	} {
		bad := filepath.Join(dir, tc.name+".safetensors")
		if err := safetensors.WriteFile(bad, tc.edit(ts), nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadDirection(bad, l, bufs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestStatsLandscape: LineWith with Stats.At evaluates the loss with the BatchNorm statistics
// scaled by 1+α (the loss-landscape convention) and Restore puts them back; at α = 0 nothing moves.
func TestStatsLandscape(t *testing.T) {
	o, w := convObjective(t, nn.Spec{Model: "resnet", Input: []int{2, 8, 8}, Outputs: 3, Loss: "ce"}, 6)
	d := Direction(&o.Model.Layout, w, 4)
	st := NewStats(o.Model)
	if st.Empty() {
		t.Fatal("a ResNet without buffers")
	}
	sd := st.Direction()
	alphas := []float64{-0.5, 0, 0.5}
	pts, err := LineWith(o, w, d, alphas, func(a, b float64) { st.At(a, sd, b, nil) })
	if err != nil {
		t.Fatal(err)
	}
	st.Restore()
	plain, _ := Line(o, w, d, alphas)
	for i, a := range alphas {
		// The reference: scale every buffer by hand, evaluate, put it back.
		var saved [][]float32
		for _, b := range o.Model.Buffers() {
			saved = append(saved, append([]float32(nil), b.Data...))
			for j := range b.Data {
				b.Data[j] = float32(float64(b.Data[j]) * (1 + a))
			}
		}
		wp := make([]float32, len(w))
		for j := range w {
			wp[j] = float32(float64(w[j]) + a*float64(d[j]))
		}
		want, _ := o.Loss(wp)
		for k, b := range o.Model.Buffers() {
			copy(b.Data, saved[k])
		}
		if math.Abs(pts[i].Loss-want) > 1e-6*want {
			t.Errorf("α = %g: loss %.7g, by hand %.7g", a, pts[i].Loss, want)
		}
		if a == 0 && pts[i].Loss != plain[i].Loss {
			t.Errorf("α = 0: %g with statistics, %g without", pts[i].Loss, plain[i].Loss)
		}
		if a != 0 && math.Abs(pts[i].Loss-plain[i].Loss) < 1e-6 {
			t.Errorf("α = %g: moving the statistics changed nothing (%g)", a, pts[i].Loss)
		}
	}
	after, _ := Line(o, w, d, alphas)
	for i := range after {
		if after[i].Loss != plain[i].Loss {
			t.Fatalf("statistics not restored: %g then %g", plain[i].Loss, after[i].Loss)
		}
	}
}
