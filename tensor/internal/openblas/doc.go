// Package openblas is the optional cgo bridge to OpenBLAS, built only with the build tag
// openblas (go build -tags openblas); the default build leaves it empty.
package openblas
