// Package printer renders davit objects for people and scripts the way
// kubectl does: tables from each kind's printer columns (wide columns with
// -o wide, a NAMESPACE column with -A, ages like "7m30s" and "6d1h"), JSON,
// YAML, names ("virtualmachine/linux-vm"), JSONPath templates, and the
// key/value blocks of `describe`.
//
// It reads objects as decoded JSON, so it prints fields it has never heard
// of. It does no I/O of its own beyond the io.Writer it is given and
// imports only api and jsonpath of davit's packages.
package printer
