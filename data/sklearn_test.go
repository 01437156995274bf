package data

import (
	"slices"
	"strings"
	"testing"
)

func TestOpenSklearn(t *testing.T) {
	tests := []struct {
		spec     string
		n        int
		shape    []int
		classes  int
		perClass []int
		first    []float32 // first row
	}{
		{"iris", 150, []int{4}, 3, []int{50, 50, 50}, []float32{5.1, 3.5, 1.4, 0.2}},
		{"wine", 178, []int{13}, 3, []int{59, 71, 48}, nil},
		{"breast-cancer", 569, []int{30}, 2, []int{212, 357}, nil},
		{"digits", 1797, []int{1, 8, 8}, 10, []int{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, nil},
		{"Breast_Cancer", 569, []int{30}, 2, []int{212, 357}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			src, err := Open(tc.spec, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := src.Train
			if src.Test != nil || src.Image {
				t.Errorf("Test %v, Image %v; want nil, false", src.Test, src.Image)
			}
			if s.N() != tc.n || !slices.Equal(s.Shape, tc.shape) || s.Classes != tc.classes {
				t.Fatalf("N %d shape %v classes %d; want %d %v %d", s.N(), s.Shape, s.Classes, tc.n, tc.shape, tc.classes)
			}
			if len(s.X) != s.N()*s.Dim() || len(s.Labels) != s.N() || s.Y != nil || s.Outputs != 0 {
				t.Fatalf("inconsistent set: %d values, %d labels", len(s.X), len(s.Labels))
			}
			if len(s.FeatureNames) != s.Dim() || len(s.ClassNames) != s.Classes {
				t.Errorf("%d feature names, %d class names", len(s.FeatureNames), len(s.ClassNames))
			}
			counts := make([]int, s.Classes)
			for _, l := range s.Labels {
				counts[l]++
			}
			if !slices.Equal(counts, tc.perClass) {
				t.Errorf("class counts %v, want %v", counts, tc.perClass)
			}
			if tc.first != nil && !slices.Equal(s.X[:len(tc.first)], tc.first) {
				t.Errorf("first row %v, want %v", s.X[:len(tc.first)], tc.first)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		spec string
		o    Options
		want []string
	}{
		{"cifar1000", Options{}, []string{`"cifar1000"`, "mnist, fashion-mnist, cifar10, cifar100, iris", "csv:PATH", "folder:PATH"}},
		{"", Options{}, []string{"unknown data set"}},
		{"csv:", Options{}, []string{"csv:PATH"}},
		{"iris", Options{Target: "species"}, []string{"iris", `"species"`, "csv:PATH"}},
		{"wine", Options{Task: Regression}, []string{"wine", "regression", "csv:PATH"}},
		{"csv:/nonexistent/file.csv", Options{}, []string{"/nonexistent/file.csv", "no such file"}},
		{"csv:x.csv", Options{Task: Task(7)}, []string{"unknown task"}},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			src, err := Open(tc.spec, tc.o)
			if src != nil {
				t.Errorf("got a source with the error")
			}
			checkErr(t, err, tc.want...)
		})
	}
}

func TestParseTask(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Task
		ok   bool
	}{{"classification", Classification, true}, {" Regression", Regression, true}, {"cls", 0, false}} {
		got, err := ParseTask(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTask(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil {
			checkErr(t, err, tc.in)
		} else if got.String() != strings.ToLower(strings.TrimSpace(tc.in)) {
			t.Errorf("String() = %q", got.String())
		}
	}
}
