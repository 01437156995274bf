package nn

import (
	"slices"
	"testing"
)

// TestWideResNetNames: WRN-10-2 has PyTorch's tensor names and shapes (xternalz/WideResNet-pytorch),
// a 1×1 convShortcut wherever the channels change (every block here, as 16 ≠ 32), and WRN-16-4's
// parameter count is that of the PyTorch model (2,748,890 with 10 classes).
func TestWideResNetNames(t *testing.T) {
	m, err := Build(Spec{Model: "wrn", Depth: 10, Width: 2, Input: []int{3, 32, 32}, Outputs: 10, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	shapes := map[string][]int{}
	for _, s := range m.Layout.Spans {
		names = append(names, s.Name)
		shapes[s.Name] = s.Shape
	}
	want := []string{"conv1.weight"}
	for b := 1; b <= 3; b++ {
		p := "block" + string(rune('0'+b)) + ".layer.0."
		want = append(want, p+"bn1.weight", p+"bn1.bias", p+"conv1.weight", p+"bn2.weight", p+"bn2.bias", p+"conv2.weight", p+"convShortcut.weight")
	}
	want = append(want, "bn1.weight", "bn1.bias", "fc.weight", "fc.bias")
	if !slices.Equal(names, want) {
		t.Fatalf("spans\n%v\nwant\n%v", names, want)
	}
	for name, shape := range map[string][]int{"conv1.weight": {16, 3, 3, 3}, "block1.layer.0.conv1.weight": {32, 16, 3, 3},
		"block2.layer.0.convShortcut.weight": {64, 32, 1, 1}, "block3.layer.0.conv2.weight": {128, 128, 3, 3}, "fc.weight": {10, 128}} {
		if !slices.Equal(shapes[name], shape) {
			t.Errorf("%s has shape %v, want %v", name, shapes[name], shape)
		}
	}
	bufs := m.Buffers()
	if len(bufs) != 2*7 || bufs[0].Name != "block1.layer.0.bn1.running_mean" || bufs[len(bufs)-1].Name != "bn1.running_var" {
		t.Errorf("%d buffers, first %s, last %s", len(bufs), bufs[0].Name, bufs[len(bufs)-1].Name)
	}

	// WRN-16-4: blocks of equal width after the first of each stage use the identity shortcut.
	m, err = Build(Spec{Model: "wrn", Depth: 16, Width: 4, Input: []int{3, 32, 32}, Outputs: 10, Loss: "ce"})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Layout.Size(); got != 2748890 {
		t.Errorf("WRN-16-4 has %d parameters, want 2,748,890 (PyTorch)", got)
	}
	for _, s := range m.Layout.Spans {
		if s.Name == "block1.layer.1.convShortcut.weight" {
			t.Error("block1.layer.1 has a projection shortcut")
		}
	}
	if d := m.Describe(); d != "wrn-16-4 [3 32 32]→10, ce loss (2748890 parameters)" {
		t.Errorf("Describe: %q", d)
	}
}
