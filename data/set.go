package data

import (
	"fmt"
	"slices"
	"strings"
)

// Set is a data set in memory: N examples, each a row of Dim() float32
// features.
type Set struct {
	X       []float32 // N × Dim, row-major
	Shape   []int     // shape of one example, e.g. [1,28,28] for MNIST, [4] for iris; product = Dim
	Labels  []int32   // class labels (classification); nil for regression
	Classes int       // number of classes (classification), 0 for regression
	Y       []float32 // regression targets, N × Outputs; nil for classification
	Outputs int       // regression outputs (1 for CSV regression), 0 for classification

	FeatureNames []string // optional (CSV header names)
	ClassNames   []string // optional names of the classes, indexed by label
	TargetName   string   // optional (the CSV target column's name)
}

// Dim returns the number of features of one example, the product of Shape.
func (s *Set) Dim() int {
	if s == nil || len(s.Shape) == 0 {
		return 0
	}
	d := 1
	for _, v := range s.Shape {
		d *= v
	}
	return d
}

// N returns the number of examples.
func (s *Set) N() int {
	switch {
	case s == nil:
		return 0
	case s.Dim() > 0:
		return len(s.X) / s.Dim()
	case s.Labels != nil:
		return len(s.Labels)
	case s.Outputs > 0:
		return len(s.Y) / s.Outputs
	}
	return 0
}

// IsClassification reports whether s holds class labels.
func (s *Set) IsClassification() bool { return s != nil && s.Labels != nil && s.Classes > 0 }

// Subset returns a new Set holding copies of the rows idx, in the order
// given. Every index must lie in [0, N()). Subset(nil) is an empty Set with
// the same Shape, Classes and Outputs.
func (s *Set) Subset(idx []int) *Set {
	d := s.Dim()
	out := &Set{
		X:            make([]float32, len(idx)*d),
		Shape:        slices.Clone(s.Shape),
		Classes:      s.Classes,
		Outputs:      s.Outputs,
		FeatureNames: slices.Clone(s.FeatureNames),
		ClassNames:   slices.Clone(s.ClassNames),
		TargetName:   s.TargetName,
	}
	for j, i := range idx {
		copy(out.X[j*d:(j+1)*d], s.X[i*d:(i+1)*d])
	}
	if s.Labels != nil {
		out.Labels = make([]int32, len(idx))
		for j, i := range idx {
			out.Labels[j] = s.Labels[i]
		}
	}
	if s.Y != nil {
		k := s.Outputs
		out.Y = make([]float32, len(idx)*k)
		for j, i := range idx {
			copy(out.Y[j*k:(j+1)*k], s.Y[i*k:(i+1)*k])
		}
	}
	return out
}

// Task says how the target column of a CSV file is read.
type Task int

const (
	// Classification reads the target as non-negative integer class labels.
	Classification Task = iota
	// Regression reads the target as a real-valued output.
	Regression
)

// String returns "classification" or "regression".
func (t Task) String() string {
	switch t {
	case Classification:
		return "classification"
	case Regression:
		return "regression"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// ParseTask parses "classification" or "regression" (case-insensitive).
func ParseTask(s string) (Task, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "classification":
		return Classification, nil
	case "regression":
		return Regression, nil
	}
	return 0, fmt.Errorf("data: unknown task %q (want classification or regression)", s)
}
