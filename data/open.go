package data

import (
	"fmt"
	"strings"
)

// Options tune Open.
type Options struct {
	Target string // CSV target column name; "" = last column
	Task   Task   // how to read the CSV target
	Dir    string // override directory of the mnist / fashion-mnist / cifar10 / cifar100 files ("" = default lookup)

	CIFAR100Coarse bool         // cifar100: the 20 superclass labels instead of the 100 fine ones
	Images         ImageOptions // folder:PATH
}

// Source is what a data spec names: the training pool and, where the data
// set has one, its official test set.
type Source struct {
	Name  string
	Train *Set
	Test  *Set // nil when the data set has no official test split (tabular data)
	Image bool // pixel data (mnist family) rather than tabular

	Channelwise bool // standardise per colour channel (StandardizeChannels), not per pixel
	Skipped     int  // unreadable images skipped (folder:PATH with ImageOptions.SkipBad)
}

// Specs lists the data sets Open knows, besides "csv:PATH".
var Specs = []string{"mnist", "fashion-mnist", "cifar10", "cifar100", "iris", "wine", "breast-cancer", "digits"}

// Open loads "mnist", "fashion-mnist", "cifar10", "cifar100", "iris", "wine",
// "breast-cancer", "digits", "csv:PATH" or "folder:PATH" (see openFolder). Names are case-insensitive and "_" may stand for
// "-". Options.Target and Options.Task apply to CSV files only; the built-in
// data sets are all classification data sets and Open reports an error if a
// target column or the regression task is asked of them. Options.Dir applies
// to mnist, fashion-mnist, cifar10 and cifar100 only.
//
// The sklearn sets keep their raw feature values (digits: pixel counts
// 0..16, Shape [1,8,8]); MNIST and CIFAR pixels are scaled to [0,1]. The
// MNIST family, CIFAR and image folders have Image set; the first two have
// an official test set.
func Open(spec string, o Options) (*Source, error) {
	s := strings.TrimSpace(spec)
	if len(s) >= 4 && strings.EqualFold(s[:4], "csv:") {
		path := s[4:]
		if path == "" {
			return nil, fmt.Errorf("data: data spec %q names no file (want csv:PATH)", spec)
		}
		if o.Task != Classification && o.Task != Regression {
			return nil, fmt.Errorf("data: %s: unknown task %v", s, o.Task)
		}
		return openCSV(path, o)
	}
	if len(s) >= 7 && strings.EqualFold(s[:7], "folder:") {
		if s[7:] == "" {
			return nil, fmt.Errorf("data: data spec %q names no folder (want folder:PATH)", spec)
		}
		if o.Target != "" || o.Task != Classification {
			return nil, fmt.Errorf("data: %s: image folders are classification data; a target column or the regression task applies only to csv:PATH data", s)
		}
		return openFolder(s[7:], o.Images)
	}
	name := strings.ReplaceAll(strings.ToLower(s), "_", "-")
	switch name {
	case "fashionmnist":
		name = "fashion-mnist"
	case "cifar-10":
		name = "cifar10"
	case "cifar-100":
		name = "cifar100"
	}
	known := false
	for _, k := range Specs {
		known = known || k == name
	}
	if !known {
		return nil, fmt.Errorf("data: unknown data set %q (want %s, csv:PATH or folder:PATH)", spec, strings.Join(Specs, ", "))
	}
	if o.Target != "" {
		return nil, fmt.Errorf("data: %s: a target column (%q) can only be chosen for csv:PATH data", name, o.Target)
	}
	if o.Task != Classification {
		return nil, fmt.Errorf("data: %s is a classification data set; the %v task applies only to csv:PATH data", name, o.Task)
	}
	if o.CIFAR100Coarse && name != "cifar100" {
		return nil, fmt.Errorf("data: %s: coarse labels exist only for cifar100", name)
	}
	switch name {
	case "cifar10", "cifar100":
		return openCIFAR(name, o)
	case "mnist":
		dir, err := mnistDir(o)
		if err != nil {
			return nil, err
		}
		return openIDXSource(name, dir, mnistClassNames)
	case "fashion-mnist":
		dir, err := fashionMNISTDir(o)
		if err != nil {
			return nil, err
		}
		return openIDXSource(name, dir, fashionClassNames)
	}
	return openSklearn(name)
}
