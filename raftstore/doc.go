// Package raftstore owns davit's replicated state: hashicorp/raft with a
// raft-boltdb log and stable store and a file snapshot store, the FSM that
// applies commands to an indexed in-memory state (go-memdb, one table per
// kind), snapshots of that state, the watch history that streams every
// change without gaps, and cluster membership.
//
// Writes are Commands: the first byte of a log entry is the command type,
// the rest is its JSON body. A command type with the Ignorable bit that an
// FSM does not know is skipped, so a cluster can be upgraded one node at a
// time. Commands carry everything non-deterministic (uid, timestamp); the FSM
// is deterministic and does no I/O.
//
// Every object's metadata.resourceVersion is the Raft index of the log entry
// that last changed it; metadata.generation counts spec changes.
//
// Concurrency: Store methods are safe for concurrent use. Objects returned by
// reads, results and watch events are copies owned by the caller.
//
// The package imports only the api package of davit; it must never import
// agent or any package that imports it.
package raftstore
