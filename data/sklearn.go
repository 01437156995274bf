package data

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The scikit-learn data sets, copied from scikit-learn 1.2.1
// (sklearn/datasets/data); see sklearn/README.md and sklearn/LICENSE.
//
//go:embed sklearn/iris.csv sklearn/wine_data.csv sklearn/breast_cancer.csv sklearn/digits.csv.gz
var sklearnFS embed.FS

// sklearnSet describes one embedded scikit-learn data set.
type sklearnSet struct {
	file     string   // path in sklearnFS
	header   bool     // first line is "n_samples,n_features,class names..."
	n        int      // examples
	shape    []int    // shape of one example
	classes  int      // number of classes
	features []string // feature names
}

var sklearnSets = map[string]sklearnSet{
	"iris": {
		file: "sklearn/iris.csv", header: true, n: 150, shape: []int{4}, classes: 3,
		features: []string{"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"},
	},
	"wine": {
		file: "sklearn/wine_data.csv", header: true, n: 178, shape: []int{13}, classes: 3,
		features: []string{"alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
			"total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
			"color_intensity", "hue", "od280/od315_of_diluted_wines", "proline"},
	},
	"breast-cancer": {
		file: "sklearn/breast_cancer.csv", header: true, n: 569, shape: []int{30}, classes: 2,
		features: breastCancerFeatures(),
	},
	"digits": {
		file: "sklearn/digits.csv.gz", header: false, n: 1797, shape: []int{1, 8, 8}, classes: 10,
		features: digitsFeatures(),
	},
}

func breastCancerFeatures() []string {
	base := []string{"radius", "texture", "perimeter", "area", "smoothness", "compactness",
		"concavity", "concave points", "symmetry", "fractal dimension"}
	var names []string
	for _, prefix := range []string{"mean ", "", "worst "} {
		for _, b := range base {
			if prefix == "" {
				names = append(names, b+" error")
			} else {
				names = append(names, prefix+b)
			}
		}
	}
	return names
}

func digitsFeatures() []string {
	names := make([]string, 0, 64)
	for r := range 8 {
		for c := range 8 {
			names = append(names, fmt.Sprintf("pixel_%d_%d", r, c))
		}
	}
	return names
}

// openSklearn parses the embedded data set name.
func openSklearn(name string) (*Source, error) {
	d, ok := sklearnSets[name]
	if !ok {
		return nil, fmt.Errorf("data: no embedded data set %q", name)
	}
	raw, err := sklearnFS.ReadFile(d.file)
	if err != nil {
		return nil, fmt.Errorf("data: embedded %s: %v", d.file, err)
	}
	if strings.HasSuffix(d.file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("data: embedded %s: %v", d.file, err)
		}
		raw, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("data: embedded %s: %v", d.file, err)
		}
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n")
	dim := len(d.features)
	s := &Set{
		X:            make([]float32, 0, d.n*dim),
		Shape:        append([]int(nil), d.shape...),
		Labels:       make([]int32, 0, d.n),
		Classes:      d.classes,
		FeatureNames: append([]string(nil), d.features...),
	}
	first := 0
	if d.header {
		h := strings.Split(strings.TrimSpace(lines[0]), ",")
		if len(h) != 2+d.classes || h[0] != strconv.Itoa(d.n) || h[1] != strconv.Itoa(dim) {
			return nil, fmt.Errorf("data: embedded %s: unexpected header %q", d.file, lines[0])
		}
		s.ClassNames = h[2:]
		first = 1
	} else if d.classes == 10 {
		s.ClassNames = mnistClassNames
	}
	for i, line := range lines[first:] {
		cells := strings.Split(strings.TrimSpace(line), ",")
		if len(cells) != dim+1 {
			return nil, fmt.Errorf("data: embedded %s: line %d has %d fields, want %d", d.file, first+i+1, len(cells), dim+1)
		}
		for _, c := range cells[:dim] {
			v, err := strconv.ParseFloat(c, 32)
			if err != nil {
				return nil, fmt.Errorf("data: embedded %s: line %d: bad number %q", d.file, first+i+1, c)
			}
			s.X = append(s.X, float32(v))
		}
		// Labels are written as integers (iris, wine, breast cancer) or as
		// floats such as "0.0" (some scikit-learn releases).
		v, err := strconv.ParseFloat(cells[dim], 64)
		if err != nil || v != float64(int(v)) || v < 0 || int(v) >= d.classes {
			return nil, fmt.Errorf("data: embedded %s: line %d: bad class label %q", d.file, first+i+1, cells[dim])
		}
		s.Labels = append(s.Labels, int32(v))
	}
	if s.N() != d.n {
		return nil, fmt.Errorf("data: embedded %s: %d examples, want %d", d.file, s.N(), d.n)
	}
	return &Source{Name: name, Train: s}, nil
}
