package httpapi

import (
	"context"
	"errors"

	"davit/api"
)

// Errors a Backend returns (wrapped or bare); the API maps them to HTTP.
var (
	ErrNotFound      = errors.New("not found")
	ErrConflict      = errors.New("conflict")
	ErrAlreadyExists = errors.New("already exists")
	ErrUnavailable   = errors.New("unavailable")
	ErrExpired       = errors.New("expired")
)

// Outcome says what a write did.
type Outcome string

// Write outcomes, as `davit apply` prints them.
const (
	Created    Outcome = "created"
	Configured Outcome = "configured"
	Unchanged  Outcome = "unchanged"
	Deleted    Outcome = "deleted"
)

// EventType is the type of a watch event.
type EventType string

// Watch event types.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Removed  EventType = "DELETED"
	Failure  EventType = "ERROR"
)

// Event is one line of a watch stream. Err is set (and Object nil) when
// the stream ends abnormally, e.g. with ErrExpired.
type Event struct {
	Type   EventType
	Object *api.Object
	Err    error
}

// Backend is what the API needs from the agent: local reads of the
// replicated state and writes through the leader.
type Backend interface {
	// Get returns a copy of one object or ErrNotFound.
	Get(kind, namespace, name string) (*api.Object, error)
	// List returns copies of the objects of a kind ("" = all namespaces),
	// sorted, and the index of the state they were read at.
	List(kind, namespace string) ([]*api.Object, uint64)
	// Watch streams changes after from (0: the current objects first). The
	// channel closes when ctx ends or the stream fails (last event Err set).
	Watch(ctx context.Context, kind, namespace, name string, from uint64) (<-chan Event, error)
	// Put creates (create=true: must not exist) or updates obj's spec,
	// labels and annotations; precondition, when non-zero, is the
	// resourceVersion the stored object must have.
	Put(ctx context.Context, obj *api.Object, create bool, precondition uint64) (*api.Object, Outcome, error)
	// Delete deletes an object, or starts its deletion when it has finalizers.
	Delete(ctx context.Context, kind, namespace, name string) (*api.Object, error)
	// ConsistentRead returns once the local state reflects every write
	// committed before the call (linearizable reads), or ErrUnavailable.
	ConsistentRead(ctx context.Context) error
}

// Agent is what the status endpoints need from the agent.
type Agent interface {
	Status() any
	// Ready returns nil when a leader is known and local state has caught up.
	Ready() error
}
