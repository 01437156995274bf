package data

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// idxBytes encodes an IDX file.
func idxBytes(typ byte, dims []int, payload []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = append(b, byte(d>>24), byte(d>>16), byte(d>>8), byte(d))
	}
	return append(b, payload...)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadIDXRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ramp := make([]byte, 2*3*4)
	for i := range ramp {
		ramp[i] = byte(i * 10)
	}
	floats := make([]byte, 4*5)
	for i := range floats {
		floats[i] = byte(i)
	}
	tests := []struct {
		name    string
		typ     byte
		dims    []int
		payload []byte
	}{
		{"ubyte-3d", IDXUbyte, []int{2, 3, 4}, ramp},
		{"ubyte-1d", IDXUbyte, []int{5}, []byte{1, 2, 3, 4, 5}},
		{"float-2d", IDXFloat, []int{1, 5}, floats},
		{"short-1d", IDXShort, []int{2}, []byte{0, 1, 0xff, 0xfe}},
		{"double-1d", IDXDouble, []int{1}, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"empty", IDXUbyte, []int{0, 28, 28}, nil},
	}
	// A file of two concatenated gzip members is read as one stream.
	t.Run("two-gzip-members", func(t *testing.T) {
		b := idxBytes(IDXUbyte, []int{2, 3, 4}, ramp)
		path := filepath.Join(dir, "multi.gz")
		writeFile(t, path, append(gzipBytes(t, b[:7]), gzipBytes(t, b[7:])...))
		dims, _, data, err := readIDXFile(path)
		if err != nil || !slices.Equal(dims, []int{2, 3, 4}) || !bytes.Equal(data, ramp) {
			t.Fatalf("got %v %v %v", dims, data, err)
		}
	})
	for _, tc := range tests {
		for _, gz := range []bool{false, true} {
			name := tc.name
			b := idxBytes(tc.typ, tc.dims, tc.payload)
			if gz {
				name += ".gz"
				b = gzipBytes(t, b)
			}
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, name)
				writeFile(t, path, b)
				dims, typ, data, err := readIDXFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(dims, tc.dims) || typ != tc.typ || !bytes.Equal(data, tc.payload) {
					t.Errorf("got dims %v type %#x data %v, want %v %#x %v", dims, typ, data, tc.dims, tc.typ, tc.payload)
				}
			})
		}
	}
}

func TestReadIDXMalformed(t *testing.T) {
	good := idxBytes(IDXUbyte, []int{2, 2, 2}, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	goodGz := gzipBytes(t, good)
	badCRC := slices.Clone(goodGz)
	badCRC[len(badCRC)-8] ^= 0xff
	badDeflate := slices.Clone(goodGz)
	for i := 10; i < len(badDeflate)-8; i++ {
		badDeflate[i] = 0xff
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"short-header", []byte{0, 0, 8}, "truncated"},
		{"wrong-magic", idxBytes(IDXUbyte, []int{1}, []byte{1})[1:], "not an IDX file"},
		{"text", []byte("hello, world"), "not an IDX file"},
		{"unknown-type", idxBytes(0x07, []int{1}, []byte{1}), "unsupported IDX element type 0x07"},
		{"zero-dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"short-dims", good[:10], "truncated"},
		{"short-data", good[:len(good)-1], "truncated"},
		{"trailing", append(slices.Clone(good), 0), "unexpected bytes after"},
		{"huge", idxBytes(IDXDouble, []int{1 << 30, 1 << 30, 1 << 30}, nil), "too large"},
		{"gz-short-data", gzipBytes(t, good[:len(good)-3]), "truncated"},
		{"gz-trailing", gzipBytes(t, append(slices.Clone(good), 9, 9)), "unexpected bytes after"},
		{"gz-not-idx", gzipBytes(t, []byte("plain text inside")), "not an IDX file"},
		{"gz-cut", goodGz[:len(goodGz)/2], "truncated"},
		{"gz-bad-header", []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0}, "corrupt gzip"},
		{"gz-bad-checksum", badCRC, "corrupt gzip"},
		{"gz-bad-deflate", badDeflate, "gzip"},
		{"gz-garbage-after", append(slices.Clone(goodGz), "garbage"...), "unexpected bytes after the gzip stream"},
		{"gz-zeros-after", append(slices.Clone(goodGz), make([]byte, 512)...), "unexpected bytes after the gzip stream"},
		{"gz-cut-trailer", goodGz[:len(goodGz)-4], "truncated"},
		{"gz-second-member-cut", append(slices.Clone(goodGz), goodGz[:12]...), "after"},
		{"gz-second-member-header-cut", append(slices.Clone(goodGz), goodGz[:5]...), "truncated"},
		{"gz-two-members-too-much", append(slices.Clone(goodGz), gzipBytes(t, []byte{1})...), "unexpected bytes after the 8 data bytes"},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+"-idx3-ubyte")
			writeFile(t, path, tc.data)
			_, _, _, err := readIDXFile(path)
			checkErr(t, err, path, tc.want)
		})
	}
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(dir, "nope-idx1-ubyte.gz")
		_, _, _, err := readIDXFile(path)
		checkErr(t, err, path, "no such file")
	})
	t.Run("directory", func(t *testing.T) {
		_, _, _, err := readIDXFile(dir)
		checkErr(t, err, dir)
	})
}

// writeIDXDir writes a tiny MNIST-like data set (n train and m test images
// of rows×cols) into a new directory; gz chooses the .gz file names.
func writeIDXDir(t *testing.T, n, m, rows, cols int, gz bool) string {
	t.Helper()
	dir := t.TempDir()
	write := func(base string, b []byte) {
		if gz {
			writeFile(t, filepath.Join(dir, base+".gz"), gzipBytes(t, b))
		} else {
			writeFile(t, filepath.Join(dir, base), b)
		}
	}
	for _, f := range []struct {
		images, labels string
		count          int
	}{{trainImagesFile, trainLabelsFile, n}, {testImagesFile, testLabelsFile, m}} {
		px := make([]byte, f.count*rows*cols)
		for i := range px {
			px[i] = byte(i)
		}
		lb := make([]byte, f.count)
		for i := range lb {
			lb[i] = byte(i % 10)
		}
		write(f.images, idxBytes(IDXUbyte, []int{f.count, rows, cols}, px))
		write(f.labels, idxBytes(IDXUbyte, []int{f.count}, lb))
	}
	return dir
}

func TestOpenIDXDir(t *testing.T) {
	for _, gz := range []bool{false, true} {
		dir := writeIDXDir(t, 12, 5, 2, 3, gz)
		for _, spec := range []string{"mnist", "fashion-mnist"} {
			src, err := Open(spec, Options{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if !src.Image || src.Test == nil || src.Name != spec {
				t.Fatalf("%s: Image %v, Test %v, Name %q", spec, src.Image, src.Test, src.Name)
			}
			tr, te := src.Train, src.Test
			if tr.N() != 12 || te.N() != 5 || !slices.Equal(tr.Shape, []int{1, 2, 3}) || tr.Classes != 10 {
				t.Fatalf("%s: got N %d/%d shape %v classes %d", spec, tr.N(), te.N(), tr.Shape, tr.Classes)
			}
			if tr.X[7] != float32(7)/255 || tr.Labels[11] != 1 || len(tr.ClassNames) != 10 {
				t.Errorf("%s: X[7] = %v, Labels[11] = %d", spec, tr.X[7], tr.Labels[11])
			}
		}
	}
}

func TestOpenIDXDirErrors(t *testing.T) {
	lbl := func(dir string) string { return filepath.Join(dir, trainLabelsFile) }
	img := func(dir string) string { return filepath.Join(dir, trainImagesFile) }
	tests := []struct {
		name  string
		setup func(dir string) string // returns the file the error must name
		want  string
	}{
		{"label out of range", func(dir string) string {
			writeFile(t, lbl(dir), idxBytes(IDXUbyte, []int{4}, []byte{0, 1, 10, 2}))
			return lbl(dir)
		}, "labels out of range"},
		{"count mismatch", func(dir string) string {
			writeFile(t, lbl(dir), idxBytes(IDXUbyte, []int{3}, []byte{0, 1, 2}))
			return lbl(dir)
		}, "4 images"},
		{"labels not 1-d", func(dir string) string {
			writeFile(t, lbl(dir), idxBytes(IDXUbyte, []int{2, 2}, []byte{0, 1, 2, 3}))
			return lbl(dir)
		}, "not a label file"},
		{"images not 3-d", func(dir string) string {
			writeFile(t, img(dir), idxBytes(IDXUbyte, []int{4, 4}, make([]byte, 16)))
			return img(dir)
		}, "not an image file"},
		{"images float", func(dir string) string {
			writeFile(t, img(dir), idxBytes(IDXFloat, []int{4, 1, 1}, make([]byte, 16)))
			return img(dir)
		}, "not an image file"},
		{"missing file", func(dir string) string {
			if err := os.Remove(filepath.Join(dir, testLabelsFile)); err != nil {
				t.Fatal(err)
			}
			return testLabelsFile
		}, "no t10k-labels-idx1-ubyte.gz or t10k-labels-idx1-ubyte in"},
		{"truncated", func(dir string) string {
			b, _ := os.ReadFile(img(dir))
			writeFile(t, img(dir), b[:len(b)-1])
			return img(dir)
		}, "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeIDXDir(t, 4, 2, 2, 2, false)
			file := tc.setup(dir)
			_, err := Open("mnist", Options{Dir: dir})
			checkErr(t, err, file, tc.want)
		})
	}
	t.Run("no such dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "absent")
		_, err := Open("fashion-mnist", Options{Dir: dir})
		checkErr(t, err, dir, "does not exist")
	})
}
