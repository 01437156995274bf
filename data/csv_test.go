package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "table.csv")
	writeFile(t, path, []byte(content))
	return path
}

func TestOpenCSV(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		o        Options
		x        []float32
		labels   []int32
		classes  int
		y        []float32
		features []string
	}{
		{
			name:    "last column target",
			content: "a,b,label\n1,2,0\n3,4.5,2\n",
			x:       []float32{1, 2, 3, 4.5}, labels: []int32{0, 2}, classes: 3,
			features: []string{"a", "b"},
		},
		{
			name:    "named target in the middle",
			content: "a, y ,b\n1,1,2\n3,0,4\n",
			o:       Options{Target: "y"},
			x:       []float32{1, 2, 3, 4}, labels: []int32{1, 0}, classes: 2,
			features: []string{"a", "b"},
		},
		{
			name:    "single class still has two classes",
			content: "a,c\n1,0\n2,0\n",
			x:       []float32{1, 2}, labels: []int32{0, 0}, classes: 2,
			features: []string{"a"},
		},
		{
			name:    "regression",
			content: "x1,x2,price\n1,2,-3.25\n4,5,1e3\n",
			o:       Options{Task: Regression},
			x:       []float32{1, 2, 4, 5}, y: []float32{-3.25, 1000},
			features: []string{"x1", "x2"},
		},
		{
			name:    "quotes, CRLF, spaces, BOM, blank lines and float labels",
			content: "\ufeff\"f 1\",\"f,2\",t\r\n \"1\", 2 ,1.0\r\n\r\n-0.5,+7,3\r\n",
			x:       []float32{1, 2, -0.5, 7}, labels: []int32{1, 3}, classes: 4,
			features: []string{"f 1", "f,2"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCSV(t, tc.content)
			src, err := Open("csv:"+path, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			s := src.Train
			if src.Test != nil || src.Image || src.Name != "csv:"+path {
				t.Errorf("Test %v Image %v Name %q", src.Test, src.Image, src.Name)
			}
			if !slices.Equal(s.X, tc.x) || !slices.Equal(s.Labels, tc.labels) || s.Classes != tc.classes ||
				!slices.Equal(s.Y, tc.y) || !slices.Equal(s.FeatureNames, tc.features) {
				t.Errorf("got X %v labels %v classes %d Y %v features %q", s.X, s.Labels, s.Classes, s.Y, s.FeatureNames)
			}
			if !slices.Equal(s.Shape, []int{len(tc.features)}) || s.N() != len(tc.x)/len(tc.features) {
				t.Errorf("shape %v N %d", s.Shape, s.N())
			}
			if wantOut := len(tc.y) / max(1, s.N()); s.Outputs != wantOut {
				t.Errorf("Outputs %d, want %d", s.Outputs, wantOut)
			}
		})
	}
}

func TestOpenCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		o       Options
		want    []string
	}{
		{"empty file", "", Options{}, []string{"empty file", "header"}},
		{"no rows", "a,b,c\n", Options{}, []string{"no data rows"}},
		{"no header", "1,2,3\n4,5,6\n", Options{}, []string{"header row"}},
		{"one column", "label\n1\n", Options{}, []string{"feature column"}},
		{"ragged short", "a,b,c\n1,2,3\n4,5\n", Options{}, []string{"line 3", "2 fields", "header has 3"}},
		{"ragged long", "a,b\n1,2\n3,4\n5,6,7\n", Options{}, []string{"line 4", "3 fields"}},
		{"non-numeric", "a,b\n1,0\nx,1\n", Options{}, []string{"line 3", `"a"`, `"x" is not a number`}},
		{"empty cell", "a,b\n,0\n", Options{}, []string{"line 2", "empty cell"}},
		{"NaN", "a,b\nNaN,0\n", Options{}, []string{"line 2", `"NaN" is not a finite number`}},
		{"Inf", "a,b\n1,0\n2,0\n-Inf,1\n", Options{}, []string{"line 4", "not a finite number"}},
		{"infinity target", "a,b\n1,infinity\n", Options{Task: Regression}, []string{"line 2", `"b"`, "not a finite"}},
		{"float32 overflow", "a,b\n1e39,0\n", Options{}, []string{"line 2", "out of float32 range"}},
		{"float64 overflow", "a,b\n1e400,0\n", Options{}, []string{"line 2", "out of range"}},
		{"unknown target", "a,b,c\n1,2,3\n", Options{Target: "label"}, []string{`no target column "label"`, `"a", "b", "c"`}},
		{"negative label", "a,b\n1,0\n2,-1\n", Options{}, []string{"line 3", "labels out of range"}},
		{"fractional label", "a,b\n1,0.5\n", Options{}, []string{"line 2", "not an integer class label"}},
		{"huge label", "a,b\n1,1e9\n", Options{}, []string{"line 2", "labels out of range"}},
		{"duplicate column", "a,b,a\n1,2,3\n", Options{}, []string{`"a" twice`}},
		{"unnamed column", ",a,b\n0,1,2\n", Options{}, []string{"column 1 has no name"}},
		{"bad quote", "a,b\n1,\"2\n", Options{}, []string{"line 2"}},
		{"stray quote", "a,b\n1,2\"x\n", Options{}, []string{"line 2"}},
		{"newline in header", "\"a\nb\",c\n1,2\n3,x\n", Options{}, []string{"line 4", `"x" is not a number`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCSV(t, tc.content)
			_, err := Open("csv:"+path, tc.o)
			checkErr(t, err, append([]string{path}, tc.want...)...)
		})
	}
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Open("csv:"+dir, Options{})
		checkErr(t, err, dir)
	})
	t.Run("long column list", func(t *testing.T) {
		header := ""
		for i := range 30 {
			header += "c" + string(rune('A'+i%26)) + string(rune('a'+i/26)) + ","
		}
		path := writeCSV(t, header+"t\n"+strings.Repeat("1,", 30)+"0\n")
		_, err := Open("csv:"+path, Options{Target: "nope"})
		checkErr(t, err, path, "(11 more)")
	})
	t.Run("unreadable", func(t *testing.T) {
		if os.Getuid() == 0 {
			t.Skip("root reads everything")
		}
		path := writeCSV(t, "a,b\n1,0\n")
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		_, err := Open("csv:"+path, Options{})
		checkErr(t, err, path, "permission denied")
	})
}
