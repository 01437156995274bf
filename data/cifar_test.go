package data

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/samgo/sam/internal/fixture"
)

func TestOpenCIFAR10(t *testing.T) {
	t.Setenv(EnvCIFAR10Dir, "")
	dir := t.TempDir()
	fixture.WriteCIFAR10(t, dir, 2, 3)
	src, err := Open("cifar10", Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if src.Train.N() != 10 || src.Test.N() != 3 || !src.Image || !src.Channelwise {
		t.Fatalf("got %d train, %d test examples (image %v, channelwise %v), want 10 and 3", src.Train.N(), src.Test.N(), src.Image, src.Channelwise)
	}
	for _, s := range []*Set{src.Train, src.Test} {
		if !slices.Equal(s.Shape, []int{3, 32, 32}) || s.Classes != 10 || len(s.ClassNames) != 10 || s.ClassNames[9] != "truck" {
			t.Fatalf("shape %v, %d classes, names %v", s.Shape, s.Classes, s.ClassNames)
		}
	}
	// Training example 2f+r is record r of data_batch_{f+1}: label (f+r) mod 10, pixel seed 7f+r.
	for f := range 5 {
		for r := range 2 {
			i := 2*f + r
			if got := src.Train.Labels[i]; got != int32((f+r)%10) {
				t.Errorf("train label %d = %d, want %d", i, got, (f+r)%10)
			}
			// Channel ch, row y, column x is byte 1024ch + 32y + x of the pixels.
			for _, p := range [][3]int{{0, 0, 0}, {1, 5, 7}, {2, 31, 31}} {
				j := 1024*p[0] + 32*p[1] + p[2]
				want := float32((7*f+r+j)%251) / 255
				if got := src.Train.X[i*cifarPixels+j]; got != want {
					t.Errorf("train %d pixel %v = %v, want %v", i, p, got, want)
				}
			}
		}
	}
	if src.Test.Labels[2] != 7 { // file 5 (the test batch), record 2
		t.Errorf("test label 2 = %d, want 7", src.Test.Labels[2])
	}

	// The environment variable, and the archive's own subfolder.
	parent := t.TempDir()
	fixture.WriteCIFAR10(t, filepath.Join(parent, "cifar-10-batches-bin"), 1, 1)
	t.Setenv(EnvCIFAR10Dir, parent)
	src, err = Open("CIFAR-10", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Train.N() != 5 || src.Name != "cifar10" {
		t.Errorf("from %s: %d training examples of %s, want 5 of cifar10", EnvCIFAR10Dir, src.Train.N(), src.Name)
	}
}

func TestOpenCIFAR100(t *testing.T) {
	dir := t.TempDir()
	fixture.WriteCIFAR100(t, dir, 25, 4)
	fine, err := Open("cifar100", Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	coarse, err := Open("cifar100", Options{Dir: dir, CIFAR100Coarse: true})
	if err != nil {
		t.Fatal(err)
	}
	if fine.Train.Classes != 100 || coarse.Train.Classes != 20 || fine.Train.N() != 25 || coarse.Test.N() != 4 {
		t.Fatalf("fine: %d classes, %d examples; coarse: %d classes, %d test", fine.Train.Classes, fine.Train.N(), coarse.Train.Classes, coarse.Test.N())
	}
	for r := range 25 {
		if fine.Train.Labels[r] != int32(3*r%100) || coarse.Train.Labels[r] != int32(r%20) {
			t.Fatalf("record %d: fine %d coarse %d, want %d and %d", r, fine.Train.Labels[r], coarse.Train.Labels[r], 3*r%100, r%20)
		}
	}
	if got := fine.Train.X[24*cifarPixels+1000]; got != float32((24+1000)%251)/255 {
		t.Errorf("pixel 1000 of record 24 = %v", got)
	}
	if fine.Train.ClassNames[27] != "fineBb" || coarse.Test.ClassNames[19] != "coarset" {
		t.Errorf("class names %q, %q", fine.Train.ClassNames[27], coarse.Test.ClassNames[19])
	}
}

func TestOpenCIFARErrors(t *testing.T) {
	t.Setenv(EnvCIFAR10Dir, "")
	t.Setenv(EnvCIFAR100Dir, "")
	fresh := func() string {
		dir := t.TempDir()
		fixture.WriteCIFAR10(t, dir, 2, 2)
		return dir
	}
	rec := fixture.CIFARRecord([]byte{1}, 0)
	cases := []struct {
		name  string
		spoil func(dir string) string // returns the file the error must name
		want  string
	}{
		{"missing batch", func(d string) string {
			p := filepath.Join(d, "data_batch_3.bin")
			os.Remove(p)
			return p
		}, "is missing"},
		{"missing names", func(d string) string {
			p := filepath.Join(d, "batches.meta.txt")
			os.Remove(p)
			return p
		}, "is missing"},
		{"truncated", func(d string) string {
			p := filepath.Join(d, "data_batch_2.bin")
			writeFile(t, p, append(slices.Clone(rec), rec[:100]...))
			return p
		}, "truncated"},
		{"record size", func(d string) string { // CIFAR-100 records (2 label bytes) in a CIFAR-10 file
			p := filepath.Join(d, "test_batch.bin")
			writeFile(t, p, fixture.CIFARRecord([]byte{1, 2}, 0))
			return p
		}, "3073-byte records"},
		{"empty", func(d string) string {
			p := filepath.Join(d, "data_batch_5.bin")
			writeFile(t, p, nil)
			return p
		}, "empty"},
		{"label", func(d string) string {
			p := filepath.Join(d, "data_batch_1.bin")
			writeFile(t, p, append(slices.Clone(rec), fixture.CIFARRecord([]byte{10}, 0)...))
			return p
		}, "record 2 has label 10"},
		{"names", func(d string) string {
			p := filepath.Join(d, "batches.meta.txt")
			writeFile(t, p, []byte("cat\ndog\n"))
			return p
		}, "2 label names, want 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fresh()
			file := c.spoil(dir)
			_, err := Open("cifar10", Options{Dir: dir})
			checkErr(t, err, "cifar10", file, c.want)
		})
	}
	_, err := Open("cifar10", Options{})
	checkErr(t, err, EnvCIFAR10Dir, "--data-dir")
	_, err = Open("cifar100", Options{Dir: filepath.Join(t.TempDir(), "nope")})
	checkErr(t, err, "does not exist")
	_, err = Open("cifar10", Options{Dir: fresh(), CIFAR100Coarse: true})
	checkErr(t, err, "coarse labels exist only for cifar100")
	dir := t.TempDir()
	fixture.WriteCIFAR100(t, dir, 2, 2)
	fixture.WriteFile(t, filepath.Join(dir, "train.bin"), rec) // a CIFAR-10 record: 3073 bytes
	_, err = Open("cifar100", Options{Dir: dir})
	checkErr(t, err, filepath.Join(dir, "train.bin"), "3074-byte records")
}

func TestStandardizeChannels(t *testing.T) {
	// Two 2-channel 1×2 images: channel 0 holds 1,3 and 5,7 (mean 4, σ √5), channel 1 is
	// constant 2 (σ 0 counts as 1).
	tr := &Set{X: []float32{1, 3, 2, 2, 5, 7, 2, 2}, Shape: []int{2, 1, 2}}
	te := &Set{X: []float32{4, 9, 3, 2}, Shape: []int{2, 1, 2}}
	StandardizeChannels(tr, te, nil, te)
	s := float32(1 / 2.23606797749979)
	want := []float32{-3 * s, -s, 0, 0, s, 3 * s, 0, 0}
	for i, v := range tr.X {
		if d := v - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("train %v, want %v", tr.X, want)
		}
	}
	wantTe := []float32{0, 5 * s, 1, 0}
	for i, v := range te.X {
		if d := v - wantTe[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("test %v, want %v (applied once, with the training statistics)", te.X, wantTe)
		}
	}
}
