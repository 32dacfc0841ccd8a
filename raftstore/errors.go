package raftstore

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error of this package that means one of these wraps
// it, so callers test with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a Create names an object that exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a resourceVersion precondition is stale.
	ErrConflict = errors.New("conflict")
	// ErrExpired: a watch asked for changes older than the kept history, or
	// the state was replaced by a snapshot restore. The client lists again.
	ErrExpired = errors.New("expired")
	// ErrNotLeader: the operation needs the leader. A *NotLeaderError names it.
	ErrNotLeader = errors.New("not the leader")
	// ErrUnknownKind: no kind of the api package has that name.
	ErrUnknownKind = errors.New("unknown kind")
	// ErrUnknownCommand: a log entry has a command type this version does not
	// know and that is not ignorable.
	ErrUnknownCommand = errors.New("unknown command type")
	// ErrInvalidCommand: a command is malformed (undecodable body, missing
	// name, uid or timestamp, namespace on a cluster-scoped kind...).
	ErrInvalidCommand = errors.New("invalid command")
	// ErrInvalidConfig: a Config field has an unusable value.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("store closed")
)

// NotLeaderError is returned by leader-only operations on another node. It
// names the current leader when one is known (both fields empty otherwise),
// so the caller can forward the request. It wraps ErrNotLeader.
type NotLeaderError struct {
	LeaderAddr string
	LeaderID   string
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" && e.LeaderAddr == "" {
		return "not the leader: no leader known"
	}
	return fmt.Sprintf("not the leader: leader is %s at %s", e.LeaderID, e.LeaderAddr)
}

// Unwrap makes errors.Is(err, ErrNotLeader) hold.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
