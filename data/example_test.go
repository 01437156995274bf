package data_test

import (
	"fmt"
	"math"

	"github.com/samgo/sam/data"
)

// ExampleOpen loads scikit-learn's iris (embedded in the package), draws seeded validation and
// test splits and standardises the features with the training split's statistics.
func ExampleOpen() {
	src, err := data.Open("iris", data.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(src.Train.N(), "examples of", src.Train.Dim(), "features,", src.Train.Classes, "classes:", src.Train.ClassNames)
	train, val, test, err := data.Splits(src, 0.1, 0.2, 1)
	if err != nil {
		panic(err)
	}
	data.Standardize(src.Image, train, val, test)
	mean := 0.0
	for i := range train.N() {
		mean += float64(train.X[i*train.Dim()]) / float64(train.N())
	}
	fmt.Printf("train %d, validation %d, test %d; first feature's training mean %.2f\n", train.N(), val.N(), test.N(), math.Abs(mean))
	// Output:
	// 150 examples of 4 features, 3 classes: [setosa versicolor virginica]
	// train 105, validation 15, test 30; first feature's training mean 0.00
}

// ExampleAddLabelNoise replaces 40% of the labels by classes drawn uniformly from all classes
// (the SAM paper's noisy-label setting); some draws give back the true class.
func ExampleAddLabelNoise() {
	src, err := data.Open("digits", data.Options{})
	if err != nil {
		panic(err)
	}
	changed, err := data.AddLabelNoise(src.Train, 0.4, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d images, %d labels changed (about 0.4·0.9 of them)\n", src.Train.N(), changed)
	_, err = data.AddLabelNoise(src.Train, 1.5, 1)
	fmt.Println(err)
	// Output:
	// 1797 images, 646 labels changed (about 0.4·0.9 of them)
	// data: label noise fraction must lie in [0,1], got 1.5
}
