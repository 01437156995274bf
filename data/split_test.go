package data

import (
	"math"
	"slices"
	"testing"
)

// indexSet returns a classification set whose example i has features
// (i, 2i) and label i%classes, so that rows can be traced through splits.
func indexSet(n, classes int) *Set {
	s := &Set{Shape: []int{2}, Classes: classes, X: make([]float32, 2*n), Labels: make([]int32, n)}
	for i := range n {
		s.X[2*i], s.X[2*i+1] = float32(i), float32(2*i)
		s.Labels[i] = int32(i % classes)
	}
	return s
}

// ids returns the example indices held by a set made by indexSet.
func ids(t *testing.T, s *Set) []int {
	t.Helper()
	out := make([]int, s.N())
	for i := range out {
		id := int(s.X[2*i])
		if s.X[2*i+1] != float32(2*id) || s.Labels[i] != int32(id%s.Classes) {
			t.Fatalf("row %d is not example %d intact", i, id)
		}
		out[i] = id
	}
	return out
}

func TestSubset(t *testing.T) {
	s := indexSet(5, 3)
	s.FeatureNames = []string{"a", "b"}
	sub := s.Subset([]int{4, 0, 4})
	if got := ids(t, sub); !slices.Equal(got, []int{4, 0, 4}) {
		t.Errorf("Subset rows %v", got)
	}
	sub.X[0], sub.Labels[0], sub.Shape[0], sub.FeatureNames[0] = -1, 2, 9, "z"
	if s.X[8] != 4 || s.Labels[4] != 1 || s.Shape[0] != 2 || s.FeatureNames[0] != "a" {
		t.Error("Subset shares memory with its source")
	}
	empty := s.Subset(nil)
	if empty == nil || empty.N() != 0 || empty.Dim() != 2 || empty.Classes != 3 {
		t.Errorf("empty subset: %+v", empty)
	}
	reg := &Set{Shape: []int{1}, X: []float32{1, 2, 3}, Y: []float32{10, 20, 30, 40, 50, 60}, Outputs: 2}
	r := reg.Subset([]int{2, 0})
	if !slices.Equal(r.X, []float32{3, 1}) || !slices.Equal(r.Y, []float32{50, 60, 10, 20}) || r.Labels != nil || r.Outputs != 2 {
		t.Errorf("regression subset: %+v", r)
	}
}

func TestSplitsTabular(t *testing.T) {
	src := &Source{Name: "toy", Train: indexSet(1000, 4)}
	tests := []struct {
		val, test           float64
		nTrain, nVal, nTest int
	}{
		{0.1, 0.2, 700, 100, 200},
		{0, 0, 1000, 0, 0},
		{0.15, 0, 850, 150, 0},
		{0, 0.3333, 667, 0, 333},
		{0.0004, 0.0006, 999, 0, 1},
	}
	for _, tc := range tests {
		train, val, test, err := Splits(src, tc.val, tc.test, 42)
		if err != nil {
			t.Fatal(err)
		}
		if train.N() != tc.nTrain || val.N() != tc.nVal || test.N() != tc.nTest {
			t.Fatalf("val %g test %g: sizes %d/%d/%d, want %d/%d/%d", tc.val, tc.test,
				train.N(), val.N(), test.N(), tc.nTrain, tc.nVal, tc.nTest)
		}
		all := slices.Concat(ids(t, train), ids(t, val), ids(t, test))
		slices.Sort(all)
		for i, id := range all {
			if id != i {
				t.Fatalf("val %g test %g: splits are not a partition (index %d holds %d)", tc.val, tc.test, i, id)
			}
		}
	}

	// Same seed, same split; another seed, another split.
	a1, v1, t1, _ := Splits(src, 0.1, 0.2, 7)
	a2, v2, t2, _ := Splits(src, 0.1, 0.2, 7)
	a3, _, _, _ := Splits(src, 0.1, 0.2, 8)
	if !slices.Equal(a1.X, a2.X) || !slices.Equal(v1.X, v2.X) || !slices.Equal(t1.X, t2.X) {
		t.Error("same seed gave different splits")
	}
	if slices.Equal(a1.X, a3.X) {
		t.Error("different seeds gave the same split")
	}
	if slices.IsSorted(ids(t, a1)) {
		t.Error("training set is not shuffled")
	}
	a1.X[0] = -5
	if src.Train.X[0] == -5 || src.Train.X[2*ids(t, a2)[0]] == -5 {
		t.Error("split shares memory with the source")
	}
}

func TestSplitsOfficialTest(t *testing.T) {
	src := &Source{Name: "mnistish", Train: indexSet(100, 10), Test: indexSet(30, 10), Image: true}
	train, val, test, err := Splits(src, 0.25, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if train.N() != 75 || val.N() != 25 || test.N() != 30 {
		t.Fatalf("sizes %d/%d/%d, want 75/25/30", train.N(), val.N(), test.N())
	}
	if !slices.Equal(test.X, src.Test.X) || test == src.Test {
		t.Error("test set is not a copy of the official one")
	}
	all := slices.Concat(ids(t, train), ids(t, val))
	slices.Sort(all)
	if !slices.Equal(all, identity(100)) {
		t.Error("train and val are not a partition of the pool")
	}
	_, val, _, err = Splits(src, 0, 0, 1)
	if err != nil || val == nil || val.N() != 0 {
		t.Errorf("empty validation set: %v, %v", val, err)
	}
}

func TestSplitsErrors(t *testing.T) {
	tab := &Source{Name: "toy", Train: indexSet(10, 2)}
	img := &Source{Name: "mnist", Train: indexSet(10, 2), Test: indexSet(5, 2), Image: true}
	tests := []struct {
		name      string
		src       *Source
		val, test float64
		want      []string
	}{
		{"negative val", tab, -0.1, 0, []string{"--val-fraction", "[0,1)", "-0.1"}},
		{"val one", tab, 1, 0, []string{"--val-fraction"}},
		{"val NaN", tab, math.NaN(), 0, []string{"--val-fraction", "NaN"}},
		{"test above one", tab, 0, 1.5, []string{"--test-fraction", "1.5"}},
		{"test negative", tab, 0, -1, []string{"--test-fraction"}},
		{"sum one", tab, 0.7, 0.3, []string{"--val-fraction", "--test-fraction", "sum to less than 1"}},
		{"official test", img, 0.1, 0.2, []string{"--test-fraction", "must be 0", "mnist"}},
		{"no train left", tab, 0.5, 0.46, []string{"no training examples", "10"}},
		{"no train left with test set", img, 0.96, 0, []string{"no training examples"}},
		{"empty pool", &Source{Name: "void", Train: &Set{Shape: []int{3}}}, 0, 0, []string{"void", "no training examples"}},
		{"nil source", nil, 0, 0, []string{"no data set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			train, val, test, err := Splits(tc.src, tc.val, tc.test, 1)
			if train != nil || val != nil || test != nil {
				t.Error("sets returned with an error")
			}
			checkErr(t, err, tc.want...)
		})
	}
}

// meanStd returns the mean and population standard deviation of feature j
// (or of all values when j < 0).
func meanStd(s *Set, j int) (mean, std float64) {
	var vals []float64
	d := s.Dim()
	for i, v := range s.X {
		if j < 0 || i%d == j {
			vals = append(vals, float64(v))
		}
	}
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	for _, v := range vals {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(vals)))
}

func TestStandardize(t *testing.T) {
	mk := func() (train, other *Set) {
		train = &Set{Shape: []int{3}, X: []float32{
			1, 100, 7,
			2, 300, 7,
			3, 200, 7,
			6, 400, 7,
		}}
		other = &Set{Shape: []int{3}, X: []float32{3, 250, 8}}
		return
	}
	t.Run("per feature", func(t *testing.T) {
		train, other := mk()
		wrongDim := &Set{Shape: []int{2}, X: []float32{5, 5}}
		Standardize(false, train, other, nil, other, wrongDim, train)
		for j := range 2 {
			if m, s := meanStd(train, j); math.Abs(m) > 1e-6 || math.Abs(s-1) > 1e-6 {
				t.Errorf("feature %d: mean %g std %g", j, m, s)
			}
		}
		if m, _ := meanStd(train, 2); m != 0 {
			t.Errorf("constant feature: mean %g, want 0", m)
		}
		// Feature 0 of train has mean 3 and std sqrt(3.5); 250 is the mean of feature 1.
		want := []float32{0, 0, 1}
		for j, w := range want {
			if math.Abs(float64(other.X[j]-w)) > 1e-6 {
				t.Errorf("other.X[%d] = %g, want %g", j, other.X[j], w)
			}
		}
		if !slices.Equal(wrongDim.X, []float32{5, 5}) {
			t.Error("set of another Dim was changed")
		}
	})
	t.Run("image", func(t *testing.T) {
		// Pixel 0 varies a lot, pixel 1 a little, pixel 2 not at all: pixels 1 and 2 are
		// divided by σ̄ = sqrt((4 + 0.0025 + 0)/3) instead of their own σ.
		train := &Set{Shape: []int{1, 1, 3}, X: []float32{
			-2, 0.95, 3,
			2, 1.05, 3,
		}}
		other := &Set{Shape: []int{1, 1, 3}, X: []float32{1, 2, 4}}
		Standardize(true, train, other)
		bar := math.Sqrt((4 + 0.0025) / 3)
		want := []float64{-1, -0.05 / bar, 0, 1, 0.05 / bar, 0}
		for i, w := range want {
			if math.Abs(float64(train.X[i])-w) > 1e-6 {
				t.Errorf("train.X[%d] = %g, want %g", i, train.X[i], w)
			}
		}
		if w := []float64{0.5, 1 / bar, 1 / bar}; math.Abs(float64(other.X[0])-w[0]) > 1e-6 ||
			math.Abs(float64(other.X[1])-w[1]) > 1e-5 || math.Abs(float64(other.X[2])-w[2]) > 1e-6 {
			t.Errorf("other.X = %v, want %v", other.X, w)
		}
	})
	t.Run("constant image", func(t *testing.T) {
		s := &Set{Shape: []int{1, 2, 2}, X: []float32{0.5, 0.5, 0.5, 0.5}}
		Standardize(false, s)
		if !slices.Equal(s.X, []float32{0, 0, 0, 0}) {
			t.Errorf("got %v", s.X)
		}
	})
	t.Run("empty and nil", func(t *testing.T) {
		other := &Set{Shape: []int{3}, X: []float32{1, 2, 3}}
		Standardize(false, &Set{Shape: []int{3}}, other)
		Standardize(true, nil, other)
		if !slices.Equal(other.X, []float32{1, 2, 3}) {
			t.Errorf("got %v", other.X)
		}
	})
}

func TestAddLabelNoise(t *testing.T) {
	src := &Source{Name: "toy", Train: indexSet(10000, 10)}
	train, val, test, err := Splits(src, 0.1, 0.1, 3)
	if err != nil {
		t.Fatal(err)
	}
	orig := slices.Clone(train.Labels)
	valLabels, testLabels, srcLabels := slices.Clone(val.Labels), slices.Clone(test.Labels), slices.Clone(src.Train.Labels)

	changed, err := AddLabelNoise(train, 0.3, 99)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range orig {
		if orig[i] != train.Labels[i] {
			diff++
		}
		if train.Labels[i] < 0 || train.Labels[i] >= 10 {
			t.Fatalf("label %d out of range", train.Labels[i])
		}
	}
	// 2400 labels are redrawn; 9 in 10 of them change: 2160 ± 15.
	if diff != changed || changed < 2080 || changed > 2240 {
		t.Errorf("changed %d labels (counted %d), want about 2160", changed, diff)
	}
	if !slices.Equal(val.Labels, valLabels) || !slices.Equal(test.Labels, testLabels) || !slices.Equal(src.Train.Labels, srcLabels) {
		t.Error("label noise touched another set")
	}

	again := &Set{Labels: slices.Clone(orig), Classes: 10, Shape: []int{2}, X: make([]float32, 2*len(orig))}
	if c, _ := AddLabelNoise(again, 0.3, 99); c != changed || !slices.Equal(again.Labels, train.Labels) {
		t.Error("same seed gave different noise")
	}

	tests := []struct {
		name    string
		frac    float64
		changed func(n int) bool
	}{
		{"zero", 0, func(n int) bool { return n == 0 }},
		{"all", 1, func(n int) bool { return n > 8800 && n < 9200 }},
		{"tiny", 0.00001, func(n int) bool { return n == 0 }},
	}
	for _, tc := range tests {
		s := indexSet(10000, 10)
		n, err := AddLabelNoise(s, tc.frac, 5)
		if err != nil || !tc.changed(n) {
			t.Errorf("%s: changed %d, err %v", tc.name, n, err)
		}
	}
}

func TestAddLabelNoiseErrors(t *testing.T) {
	reg := &Set{Shape: []int{1}, X: []float32{1}, Y: []float32{2}, Outputs: 1}
	tests := []struct {
		name string
		s    *Set
		frac float64
		want string
	}{
		{"regression", reg, 0.1, "classification"},
		{"nil", nil, 0.1, "no data set"},
		{"negative", indexSet(5, 2), -0.1, "[0,1]"},
		{"above one", indexSet(5, 2), 1.01, "1.01"},
		{"NaN", indexSet(5, 2), math.NaN(), "NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := AddLabelNoise(tc.s, tc.frac, 1)
			if n != 0 {
				t.Errorf("changed %d", n)
			}
			checkErr(t, err, tc.want)
		})
	}
}
