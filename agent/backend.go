package agent

import (
	"context"
	"errors"
	"fmt"

	"davit/agent/httpapi"
	"davit/api"
	"davit/raftstore"
)

// backend adapts the store and the leader-forwarding apply path to what
// the HTTP API needs.
type backend struct{ a *Agent }

func (b *backend) Get(kind, namespace, name string) (*api.Object, error) {
	obj, err := b.a.store.Get(kind, namespace, name)
	return obj, storeErr(err)
}

func (b *backend) List(kind, namespace string) ([]*api.Object, uint64) {
	return b.a.store.List(kind, namespace, nil)
}

func (b *backend) Put(ctx context.Context, obj *api.Object, create bool, precondition uint64) (*api.Object, httpapi.Outcome, error) {
	var cmd raftstore.Command
	if create {
		cmd = raftstore.CreateCommand(obj.Kind, obj)
	} else {
		if precondition != 0 {
			obj.Metadata.SetRV(precondition)
		} else {
			obj.Metadata.ResourceVersion = ""
		}
		cmd = raftstore.PutCommand(obj.Kind, obj)
	}
	res, err := b.a.apply(ctx, cmd)
	if err != nil {
		return nil, "", storeErr(err)
	}
	if res.Err != nil {
		return nil, "", storeErr(res.Err)
	}
	switch res.Outcome {
	case raftstore.OutcomeCreated:
		return res.Object, httpapi.Created, nil
	case raftstore.OutcomeUnchanged:
		return res.Object, httpapi.Unchanged, nil
	}
	return res.Object, httpapi.Configured, nil
}

func (b *backend) Delete(ctx context.Context, kind, namespace, name string) (*api.Object, error) {
	res, err := b.a.apply(ctx, raftstore.DeleteCommand(kind, namespace, name, ""))
	if err != nil {
		return nil, storeErr(err)
	}
	return res.Object, storeErr(res.Err)
}

// ConsistentRead makes the next local read linearizable: the leader
// confirms its leadership and waits until it has applied everything
// committed; a follower asks the leader for its commit index and waits
// until it has applied that far.
func (b *backend) ConsistentRead(ctx context.Context) error {
	return storeErr(b.a.consistentRead(ctx))
}

// storeErr maps raftstore's sentinels onto the API's.
func storeErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raftstore.ErrNotFound):
		return fmt.Errorf("%w: %v", httpapi.ErrNotFound, err)
	case errors.Is(err, raftstore.ErrAlreadyExists):
		return fmt.Errorf("%w: %v", httpapi.ErrAlreadyExists, err)
	case errors.Is(err, raftstore.ErrConflict):
		return fmt.Errorf("%w: %v", httpapi.ErrConflict, err)
	case errors.Is(err, raftstore.ErrExpired):
		return fmt.Errorf("%w: %v", httpapi.ErrExpired, err)
	case errors.Is(err, raftstore.ErrNotLeader), errors.Is(err, errNoLeader), errors.Is(err, raftstore.ErrClosed):
		return fmt.Errorf("%w: %v", httpapi.ErrUnavailable, err)
	}
	return err
}

// Watch adapts a raftstore watcher to the API's event stream. The
// goroutine ends when the watcher's channel closes (ctx ended or error).
func (b *backend) Watch(ctx context.Context, kind, namespace, name string, from uint64) (<-chan httpapi.Event, error) {
	w, err := b.a.store.Watch(ctx, kind, namespace, name, from)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make(chan httpapi.Event)
	go func() {
		defer close(out)
		defer w.Stop()
		for ev := range w.Events() {
			e := httpapi.Event{Type: httpapi.EventType(ev.Type), Object: ev.Object}
			if ev.Err != nil {
				e = httpapi.Event{Type: httpapi.Failure, Err: storeErr(ev.Err)}
			}
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
