package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/samgo/sam/report"
)

// TestTrajectory: sam train --snapshot-every writes snapshots at steps 0, N, 2N, … and the last;
// sam trajectory projects two runs from the same start on one PCA plane (the first run ends at
// the origin, both start at the same point), and writes the loss grid, the paths and a figure
// that shows both paths in their colours.
func TestTrajectory(t *testing.T) {
	dir := t.TempDir()
	runs := map[string]string{"sgd": "0", "sam": "0.1"}
	for name, rho := range runs {
		code, _, stderr := runSam(t, "train", "--quiet", "--data", "iris", "--hidden", "8", "--activation", "tanh", "--epochs", "14",
			"--opt", "sgd", "--lr", "0.1", "--rho", rho, "--snapshot-every", "20", "--out", filepath.Join(dir, name))
		if code != 0 {
			t.Fatalf("train: %s", stderr)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "sgd", "snapshots", "*.safetensors"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	// 105 examples in batches of 32: 4 steps per epoch, 56 steps.
	if got := strings.Join(names, " "); got != "step_0000000.safetensors step_0000020.safetensors step_0000040.safetensors step_0000056.safetensors" {
		t.Fatalf("snapshots %s", got)
	}
	out := filepath.Join(dir, "traj")
	code, stdout, stderr := runSam(t, "trajectory", "--quiet", filepath.Join(dir, "sgd"), filepath.Join(dir, "sam"), "--points", "9", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "trajectory.png") {
		t.Errorf("stdout %q", stdout)
	}
	var r TrajectoryReport
	js, _ := os.ReadFile(filepath.Join(out, "trajectory.json"))
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 2 || r.SameStart == nil || !*r.SameStart {
		t.Fatalf("runs %d, same start %v", len(r.Runs), r.SameStart)
	}
	sgd, sam := r.Runs[0], r.Runs[1]
	if end := sgd.XY[len(sgd.XY)-1]; math.Hypot(end[0], end[1]) > 1e-5 {
		t.Errorf("the first run ends at %v, want the origin", end)
	}
	if a, b := sgd.XY[0], sam.XY[0]; math.Hypot(a[0]-b[0], a[1]-b[1]) > 1e-6 {
		t.Errorf("same start, different points %v %v", a, b)
	}
	if e := r.Explained[0] + r.Explained[1]; !(e > 0.5 && e <= 1+1e-9) || r.Explained[0] < r.Explained[1] {
		t.Errorf("explained %v", r.Explained)
	}
	// Training lowers the loss along the path.
	if sgd.Loss[len(sgd.Loss)-1] >= sgd.Loss[0] {
		t.Errorf("losses %v", sgd.Loss)
	}
	if rows := readCSVFile(t, filepath.Join(out, "trajectory.csv")); len(rows) != 1+81 {
		t.Errorf("trajectory.csv: %d rows", len(rows))
	}
	if rows := readCSVFile(t, filepath.Join(out, "trajectory_path.csv")); len(rows) != 1+8 {
		t.Errorf("trajectory_path.csv: %d rows", len(rows))
	}
	b, _ := os.ReadFile(filepath.Join(out, "trajectory.png"))
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if n := countPixels(img, report.PathColour(i)); n < 30 {
			t.Errorf("path %d: %d pixels of its colour", i, n)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trajectory", dir}, "0 weight snapshots"},
		{[]string{"trajectory", filepath.Join(dir, "none")}, "not a directory"},
		{[]string{"trajectory", filepath.Join(dir, "sgd"), "--points", "2"}, "--points"},
		{[]string{"trajectory", "a", "b", "c"}, "accepts"},
		{[]string{"train", "--data", "iris", "--snapshot-every", "-1"}, "--snapshot-every"},
	} {
		o := filepath.Join(dir, "bad")
		code, _, stderr := runSam(t, append(tc.args, "--quiet", "--out", o)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(o); !os.IsNotExist(err) {
			t.Errorf("%v: %s was created", tc.args, o)
		}
	}
}

func countPixels(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)).(color.RGBA) == c {
				n++
			}
		}
	}
	return n
}
