package statusupdate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"davit/api"
	"davit/raftstore"
)

// Store is what the writes need from the agent.
type Store interface {
	Get(kind, namespace, name string) (*api.Object, error)
	Apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error)
	AppliedIndex() uint64
}

// ErrSkipped: the mutation decided there was nothing to write (the object
// is no longer the caller's to change).
var ErrSkipped = errors.New("nothing to write")

// maxAttempts bounds Update's retries on conflict.
const maxAttempts = 20

// Write writes status (encoded as JSON) as obj's status when it differs
// from the stored one, with obj's resourceVersion as the precondition
// (raftstore.ErrConflict when obj is stale). It reports whether it wrote.
func Write(ctx context.Context, s Store, obj *api.Object, status any) (bool, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return false, fmt.Errorf("encode status of %s %s: %w", obj.Kind, obj.Key(), err)
	}
	if Same(obj.Status, b) {
		return false, nil
	}
	upd := *obj
	upd.Status = b
	res, err := s.Apply(ctx, raftstore.UpdateStatusCommand(obj.Kind, &upd))
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return false, fmt.Errorf("write status of %s %s: %w", obj.Kind, obj.Key(), err)
	}
	return true, nil
}

// Update reads the object, lets mutate compute its new status from it
// (ErrSkipped: write nothing) and writes it with Write; on a conflict it
// waits until the local state has the newer object and tries again.
func Update(ctx context.Context, s Store, kind, namespace, name string, mutate func(obj *api.Object) (status any, err error)) error {
	for attempt := 1; ; attempt++ {
		obj, err := s.Get(kind, namespace, name)
		if err != nil {
			return fmt.Errorf("update %s %s: %w", kind, api.Key(namespace, name), err)
		}
		status, err := mutate(obj)
		if err != nil {
			return err
		}
		_, err = Write(ctx, s, obj, status)
		if !errors.Is(err, raftstore.ErrConflict) || attempt >= maxAttempts {
			return err
		}
		if err := waitApplied(ctx, s, obj.Metadata.RV()+1); err != nil {
			return err
		}
	}
}

// waitApplied waits (briefly) until the local state reached index.
func waitApplied(ctx context.Context, s Store, index uint64) error {
	deadline := time.Now().Add(2 * time.Second)
	for s.AppliedIndex() < index && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// Same reports whether two JSON encodings hold the same value (a stored
// status and a new one may differ in spacing or key order only).
func Same(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ax, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return bytes.Equal(ax, by)
}
