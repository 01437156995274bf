package data

import (
	"bytes"
	"compress/gzip"
	"math"
	"strings"
	"testing"
)

// FuzzReadIDX: no input makes ReadIDX panic or allocate far beyond its size; what it accepts
// has exactly the data its dimensions announce.
func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(IDXUbyte, []int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	f.Add(idxBytes(IDXUbyte, []int{3}, []byte{0, 1, 2}))
	f.Add(idxBytes(IDXFloat, []int{1, 2}, make([]byte, 8)))
	f.Add(idxBytes(IDXDouble, []int{1}, make([]byte, 8)))
	f.Add(idxBytes(IDXUbyte, []int{1 << 20, 1 << 10}, []byte{1})) // a lying header
	f.Add(idxBytes(IDXUbyte, []int{2}, []byte{1}))                // truncated
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(idxBytes(IDXUbyte, []int{2, 3}, []byte{1, 2, 3, 4, 5, 6}))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		dims, typ, data, err := ReadIDX(bytes.NewReader(b), "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		n := idxElemSize(typ)
		for _, d := range dims {
			n *= d
		}
		if n != len(data) {
			t.Fatalf("dims %v of type %x: %d data bytes", dims, typ, len(data))
		}
	})
}

// FuzzReadCSV: no input makes the CSV reader panic; what it accepts is a consistent set of
// finite features with labels in range (or regression targets).
func FuzzReadCSV(f *testing.F) {
	f.Add("a,b,y\n1,2,0\n3,4,1\n", "", false)
	f.Add("a,b,y\n1,2,0.5\n3,4,1\n", "y", true)
	f.Add("\ufeffx,label\n1e3,2\n-1,0\n", "label", false)
	f.Add("a,b\n1,NaN\n", "", false)
	f.Add("a,a\n1,2\n", "", false)
	f.Add("1,2\n3,4\n", "", false)
	f.Add("a,\"b\nc\",y\n1,2,3\n", "", false)
	f.Add("a,b,y\n1,2,70000\n", "", false)
	f.Fuzz(func(t *testing.T, csv, target string, regression bool) {
		o := Options{Target: target}
		if regression {
			o.Task = Regression
		}
		s, err := readCSV(strings.NewReader(csv), "fuzz.csv", o)
		if err != nil {
			// A message may quote a cell or column name that itself holds a newline (a quoted
			// field, or the target name); otherwise it is one line.
			if strings.Contains(err.Error(), "\n") && !strings.Contains(csv, "\"") && !strings.Contains(target, "\n") {
				t.Fatalf("error of more than one line: %q", err)
			}
			return
		}
		d, n := s.Dim(), s.N()
		if d != len(s.FeatureNames) || len(s.X) != n*d || n == 0 {
			t.Fatalf("dim %d, %d names, %d values, %d rows", d, len(s.FeatureNames), len(s.X), n)
		}
		for _, v := range s.X {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("feature %v", v)
			}
		}
		if regression {
			if len(s.Y) != n || s.Outputs != 1 {
				t.Fatalf("%d targets for %d rows", len(s.Y), n)
			}
			return
		}
		if len(s.Labels) != n || s.Classes < 2 {
			t.Fatalf("%d labels for %d rows, %d classes", len(s.Labels), n, s.Classes)
		}
		for _, l := range s.Labels {
			if l < 0 || int(l) >= s.Classes {
				t.Fatalf("label %d of %d classes", l, s.Classes)
			}
		}
	})
}
