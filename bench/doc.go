// Command bench is `make bench`: it measures davit's headline figures
// against a baseline measured in the same run and prints each ratio.
//
// Raft writes: resource writes per second through the HTTP API of a real
// agent process (64 concurrent clients) against bare hashicorp/raft applies
// of entries of the same size, on the same kind of data dir (raft-boltdb on
// a temporary directory of the same filesystem).
package main
