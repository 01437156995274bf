package data

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Environment variables naming the folders of the CIFAR binary files.
const (
	EnvCIFAR10Dir  = "SAM_CIFAR10_DIR"
	EnvCIFAR100Dir = "SAM_CIFAR100_DIR"
)

// The CIFAR images: 32×32 pixels, three channels stored as planes (all red values row by row,
// then green, then blue), one byte each.
const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide
)

// cifarLayout describes one of the two binary versions of CIFAR.
type cifarLayout struct {
	spec       string   // "cifar10" or "cifar100"
	sub        string   // the folder the official archive unpacks to
	train      []string // training files, in order
	test       string
	labelBytes int    // label bytes before the pixels of each record
	label      int    // which of them is the label used
	classes    int    // labels lie in [0, classes)
	names      string // the label-name file: one name a line
	env        string
}

func cifarLayoutFor(spec string, coarse bool) cifarLayout {
	if spec == "cifar10" {
		return cifarLayout{spec: spec, sub: "cifar-10-batches-bin",
			train: []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
			test:  "test_batch.bin", labelBytes: 1, label: 0, classes: 10, names: "batches.meta.txt", env: EnvCIFAR10Dir}
	}
	l := cifarLayout{spec: spec, sub: "cifar-100-binary", train: []string{"train.bin"}, test: "test.bin",
		labelBytes: 2, label: 1, classes: 100, names: "fine_label_names.txt", env: EnvCIFAR100Dir}
	if coarse {
		l.label, l.classes, l.names = 0, 20, "coarse_label_names.txt"
	}
	return l
}

// files lists every file the layout needs.
func (l cifarLayout) files() []string {
	return append(append([]string{}, l.train...), l.test, l.names)
}

// openCIFAR loads CIFAR-10 or CIFAR-100 ("cifar10", "cifar100") from the official binary
// version: o.Dir, else the folder named by SAM_CIFAR10_DIR / SAM_CIFAR100_DIR, or its
// cifar-10-batches-bin / cifar-100-binary subfolder. Pixels are scaled to [0,1]; the shape is
// [3,32,32]. o.CIFAR100Coarse selects CIFAR-100's 20 superclasses.
func openCIFAR(spec string, o Options) (*Source, error) {
	l := cifarLayoutFor(spec, o.CIFAR100Coarse)
	dir, where := o.Dir, "the data directory option"
	if dir == "" {
		dir, where = os.Getenv(l.env), l.env
	}
	if dir == "" {
		return nil, fmt.Errorf("data: %s: no data directory; set --data-dir or %s to the folder of %s … %s from the binary version at https://www.cs.toronto.edu/~kriz/cifar.html",
			spec, l.env, l.train[0], l.test)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("data: %s: directory %s (from %s) does not exist", spec, dir, where)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("data: %s: %s (from %s) is not a directory", spec, dir, where)
	}
	if !regular(filepath.Join(dir, l.train[0])) && regular(filepath.Join(dir, l.sub, l.train[0])) {
		dir = filepath.Join(dir, l.sub)
	}
	for _, f := range l.files() {
		if p := filepath.Join(dir, f); !regular(p) {
			return nil, fmt.Errorf("data: %s: %s is missing (from %s)", spec, p, where)
		}
	}
	names, err := readLabelNames(spec, filepath.Join(dir, l.names), l.classes)
	if err != nil {
		return nil, err
	}
	train, err := readCIFARFiles(l, dir, l.train)
	if err != nil {
		return nil, err
	}
	test, err := readCIFARFiles(l, dir, []string{l.test})
	if err != nil {
		return nil, err
	}
	train.ClassNames, test.ClassNames = names, names
	return &Source{Name: spec, Train: train, Test: test, Image: true, Channelwise: true}, nil
}

// regular reports whether p is a regular file.
func regular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// readCIFARFiles reads binary CIFAR files (records of labelBytes label bytes and 3072 pixel
// bytes) into one Set, in order, decoding the files concurrently. An empty file, a size that is
// not a whole number of records, and a label out of range are errors naming the file.
func readCIFARFiles(l cifarLayout, dir string, files []string) (*Set, error) {
	rec := l.labelBytes + cifarPixels
	paths := make([]string, len(files))
	first := make([]int, len(files)+1) // first[i]: index of file i's first record
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
		fi, err := os.Stat(paths[i])
		if err != nil {
			return nil, fmt.Errorf("data: %s: %v", l.spec, err)
		}
		size := fi.Size()
		if size == 0 {
			return nil, fmt.Errorf("data: %s: %s is empty", l.spec, paths[i])
		}
		if size%int64(rec) != 0 {
			return nil, fmt.Errorf("data: %s: %s is truncated or has the wrong record size: %d bytes is not a whole number of %d-byte records (%d label byte(s) + 3072 pixels)",
				l.spec, paths[i], size, rec, l.labelBytes)
		}
		first[i+1] = first[i] + int(size/int64(rec))
	}
	n := first[len(files)]
	s := &Set{X: make([]float32, n*cifarPixels), Shape: []int{3, cifarSide, cifarSide},
		Labels: make([]int32, n), Classes: l.classes}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			errs[i] = decodeCIFAR(l, p, s.X[first[i]*cifarPixels:first[i+1]*cifarPixels], s.Labels[first[i]:first[i+1]])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// decodeCIFAR reads the file at path, which must hold exactly len(labels) records, into x and labels.
func decodeCIFAR(l cifarLayout, path string, x []float32, labels []int32) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("data: %s: %v", l.spec, err)
	}
	rec := l.labelBytes + cifarPixels
	if len(b) != len(labels)*rec {
		return fmt.Errorf("data: %s: %s changed size while being read", l.spec, path)
	}
	for i := range labels {
		r := b[i*rec : (i+1)*rec]
		lab := int(r[l.label])
		if lab >= l.classes {
			return fmt.Errorf("data: %s: %s: record %d has label %d, want 0..%d", l.spec, path, i+1, lab, l.classes-1)
		}
		labels[i] = int32(lab)
		xi := x[i*cifarPixels : (i+1)*cifarPixels]
		for j, v := range r[l.labelBytes:] {
			xi[j] = float32(v) / 255
		}
	}
	return nil
}

// readLabelNames reads a CIFAR label-name file: one name a line, blank lines at the end ignored.
func readLabelNames(spec, path string, want int) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %v", spec, err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		names = append(names, strings.TrimSpace(sc.Text()))
	}
	for len(names) > 0 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	if len(names) != want {
		return nil, fmt.Errorf("data: %s: %s has %d label names, want %d (one a line)", spec, path, len(names), want)
	}
	for i, nm := range names {
		if nm == "" {
			return nil, fmt.Errorf("data: %s: %s: line %d is blank, want a label name", spec, path, i+1)
		}
	}
	return names, nil
}
