// Package api owns davit's resource model: the Go types of every kind
// (virtualization.deckhouse.io/v1alpha2 and davit/v1), their defaults and
// validation rules (all field errors reported at once), strict YAML/JSON
// decoding (unknown fields and wrong types are errors naming their path),
// short names and printer columns.
//
// The package is pure: no I/O, no goroutines, no package-level mutable
// state. It must not import any other davit package.
package api
