package data

import (
	"image/color"
	"path/filepath"
	"slices"
	"testing"

	"github.com/samgo/sam/internal/fixture"
	"github.com/samgo/sam/tensor"
)

func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	// Classes sort by name: "ant" before "bee" before "cat", whatever order they are written in.
	fixture.WriteImageFolder(t, dir, []string{"cat", "ant", "bee"}, 5)
	fixture.WriteFile(t, filepath.Join(dir, "ant", "notes.txt"), []byte("not an image"))
	fixture.WriteFile(t, filepath.Join(dir, "README"), []byte("ignored"))
	// One exact image: a 2-colour 8×8 PNG in "ant", sorting first.
	img := fixture.Solid(8, 8, color.RGBA{255, 0, 51, 255})
	img.Set(3, 2, color.RGBA{0, 102, 255, 255})
	fixture.WritePNG(t, filepath.Join(dir, "ant", "a.png"), img)

	for _, threads := range []int{1, 3} {
		old := tensor.SetThreads(threads)
		src, err := Open("folder:"+dir, Options{})
		tensor.SetThreads(old)
		if err != nil {
			t.Fatal(err)
		}
		s := src.Train
		if src.Test != nil || !src.Image || !src.Channelwise || src.Skipped != 0 {
			t.Fatalf("test %v image %v channelwise %v skipped %d", src.Test, src.Image, src.Channelwise, src.Skipped)
		}
		// The first image (ant/a.png) sets the size, 8×8, and is in colour: 3 channels.
		if !slices.Equal(s.Shape, []int{3, 8, 8}) || s.N() != 16 || s.Classes != 3 || !slices.Equal(s.ClassNames, []string{"ant", "bee", "cat"}) {
			t.Fatalf("shape %v, %d images, %d classes %v", s.Shape, s.N(), s.Classes, s.ClassNames)
		}
		wantLabels := []int32{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}
		if !slices.Equal(s.Labels, wantLabels) {
			t.Fatalf("labels %v, want %v", s.Labels, wantLabels)
		}
		// Planes: red, green, blue, each row by row; pixel (x=3, y=2) is index 2·8+3.
		x := s.X[:s.Dim()]
		for i, want := range map[int]float32{0: 1, 64: 0, 128: 51. / 255, 19: 0, 64 + 19: 102. / 255, 128 + 19: 1} {
			if x[i] != want {
				t.Errorf("threads %d: a.png value %d = %v, want %v", threads, i, x[i], want)
			}
		}
		// Every image of class c, PNG or JPEG, 8×8 or resized from 12×10, is close to its colour.
		for e := range s.N() {
			col := fixture.ClassColors[[]int{1, 2, 0}[s.Labels[e]]]
			if e == 0 {
				continue
			}
			row := s.X[e*s.Dim() : (e+1)*s.Dim()]
			for ch, want := range []uint8{col.R, col.G, col.B} {
				for _, v := range row[ch*64 : (ch+1)*64] {
					if d := v - float32(want)/255; d > 0.1 || d < -0.1 {
						t.Fatalf("image %d channel %d: %v, want about %v", e, ch, v, float32(want)/255)
					}
				}
			}
		}
	}

	// Grey, resized to 4×6 (height 4, width 6): a solid image stays solid, its grey is
	// color.GrayModel's luma.
	grey := t.TempDir()
	col := color.RGBA{30, 60, 200, 255}
	fixture.WritePNG(t, filepath.Join(grey, "only", "big.png"), fixture.Solid(9, 7, col))
	fixture.WritePNG(t, filepath.Join(grey, "only", "small.png"), fixture.Solid(3, 2, col))
	src, err := Open("folder:"+grey, Options{Images: ImageOptions{Channels: 1, Height: 4, Width: 6}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(src.Train.Shape, []int{1, 4, 6}) || src.Train.N() != 2 {
		t.Fatalf("shape %v, %d images, want [1 4 6] and 2", src.Train.Shape, src.Train.N())
	}
	want := float32(color.GrayModel.Convert(col).(color.Gray).Y) / 255
	for i, v := range src.Train.X {
		if d := v - want; d > 1.0/255 || d < -1.0/255 {
			t.Fatalf("grey value %d = %v, want %v", i, v, want)
		}
	}
	planes := make([]float32, 6)
	rgbaPlanes(fixture.Solid(3, 2, col), 1, planes)
	if planes[4] != want {
		t.Errorf("rgbaPlanes grey %v, want exactly %v", planes[4], want)
	}
}

func TestOpenFolderSplitAndSkip(t *testing.T) {
	dir := t.TempDir()
	fixture.WriteImageFolder(t, filepath.Join(dir, "train"), []string{"a", "b"}, 4)
	fixture.WriteImageFolder(t, filepath.Join(dir, "test"), []string{"a", "b"}, 2)
	if !FolderSplit(dir) || FolderSplit(filepath.Join(dir, "train")) {
		t.Fatal("FolderSplit")
	}
	src, err := Open("folder:"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Train.N() != 8 || src.Test.N() != 4 || !slices.Equal(src.Test.ClassNames, []string{"a", "b"}) {
		t.Fatalf("%d train, %d test images, test classes %v", src.Train.N(), src.Test.N(), src.Test.ClassNames)
	}

	broken := filepath.Join(dir, "train", "b", "img01.png")
	fixture.WriteFile(t, broken, []byte("\x89PNG\r\n\x1a\n this is not a PNG"))
	_, err = Open("folder:"+dir, Options{})
	checkErr(t, err, "folder:"+dir, broken)
	src, err = Open("folder:"+dir, Options{Images: ImageOptions{SkipBad: true}})
	if err != nil {
		t.Fatal(err)
	}
	if src.Skipped != 1 || src.Train.N() != 7 || src.Train.Labels[6] != 1 || src.Train.Labels[3] != 0 {
		t.Fatalf("skipped %d, %d train images, labels %v", src.Skipped, src.Train.N(), src.Train.Labels)
	}
	// The first image broken: the size comes from the next readable one.
	first := filepath.Join(dir, "train", "a", "img00.png")
	fixture.WriteFile(t, first, []byte("garbage"))
	_, err = Open("folder:"+dir, Options{})
	checkErr(t, err, first)
	src, err = Open("folder:"+dir, Options{Images: ImageOptions{SkipBad: true}})
	if err != nil {
		t.Fatal(err)
	}
	// img01.png of class a is 12×10 (width 12, height 10): the first readable image.
	if src.Skipped != 2 || !slices.Equal(src.Train.Shape, []int{3, 10, 12}) {
		t.Fatalf("skipped %d, shape %v", src.Skipped, src.Train.Shape)
	}
}

func TestOpenFolderErrors(t *testing.T) {
	dir := t.TempDir()
	fixture.WriteImageFolder(t, filepath.Join(dir, "train"), []string{"a", "b"}, 2)
	fixture.WriteImageFolder(t, filepath.Join(dir, "test"), []string{"a", "c"}, 1)
	_, err := Open("folder:"+dir, Options{})
	checkErr(t, err, "classes of", "differ")

	empty := t.TempDir()
	_, err = Open("folder:"+empty, Options{})
	checkErr(t, err, "no class subfolders")
	fixture.WriteFile(t, filepath.Join(empty, "x", "notes.txt"), []byte("x"))
	_, err = Open("folder:"+empty, Options{})
	checkErr(t, err, filepath.Join(empty, "x"), "no .png")
	_, err = Open("folder:"+filepath.Join(empty, "nope"), Options{})
	checkErr(t, err, "does not exist")
	_, err = Open("folder:", Options{})
	checkErr(t, err, "names no folder")
	good := t.TempDir()
	fixture.WriteImageFolder(t, good, []string{"a"}, 1)
	_, err = Open("folder:"+good, Options{Images: ImageOptions{Channels: 2}})
	checkErr(t, err, "--channels")
	_, err = Open("folder:"+good, Options{Images: ImageOptions{Height: 3}})
	checkErr(t, err, "--image-size")
	_, err = Open("folder:"+good, Options{Task: Regression})
	checkErr(t, err, "classification")
	// Every image unreadable, even with SkipBad.
	fixture.WriteFile(t, filepath.Join(good, "a", "img00.png"), []byte("x"))
	_, err = Open("folder:"+good, Options{Images: ImageOptions{SkipBad: true}})
	checkErr(t, err, "none of its 1 images")
}
