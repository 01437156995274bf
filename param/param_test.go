package param

import "testing"

func TestLayoutTilesVector(t *testing.T) {
	var l Layout
	w := l.Add("fc.weight", Weight, 3, 4)
	b := l.Add("fc.bias", Bias, 3)
	g := l.Add("bn.weight", Norm, 3)
	if w.Off != 0 || b.Off != 12 || g.Off != 15 || l.Size() != 18 {
		t.Fatalf("offsets %d %d %d size %d", w.Off, b.Off, g.Off, l.Size())
	}
	if l.Count(Weight) != 12 || l.Count(Bias) != 3 || l.Count(Norm) != 3 {
		t.Fatalf("counts %d %d %d", l.Count(Weight), l.Count(Bias), l.Count(Norm))
	}
	v := make([]float32, l.Size())
	for i := range v {
		v[i] = float32(i)
	}
	if got := b.Of(v); len(got) != 3 || got[0] != 12 || cap(got) != 3 {
		t.Fatalf("Of = %v (cap %d)", got, cap(got))
	}
	if s, ok := l.Lookup("fc.bias"); !ok || s.Off != 12 {
		t.Fatalf("Lookup = %v %v", s, ok)
	}
	if _, ok := l.Lookup("nope"); ok {
		t.Fatal("Lookup found a missing name")
	}
}

func TestLayoutPanicsOnProgrammerErrors(t *testing.T) {
	for name, f := range map[string]func(l *Layout){
		"duplicate": func(l *Layout) { l.Add("a", Weight, 2); l.Add("a", Bias, 2) },
		"zero dim":  func(l *Layout) { l.Add("a", Weight, 2, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f(&Layout{})
		})
	}
}
