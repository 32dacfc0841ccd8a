package diskctl

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

// errSkipped: a mutation decided there was nothing to write.
var errSkipped = errors.New("nothing to write")

// writeStatus writes st as d's status if it differs, with d's
// resourceVersion as the precondition (ErrConflict when d is stale), and
// reports whether it wrote.
func (c *Controller) writeStatus(ctx context.Context, d *disk, st api.VirtualDiskStatus) (bool, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("write status of disk %s: %w", d.key(), err)
	}
	if sameJSON(d.obj.Status, b) {
		return false, nil
	}
	upd := *d.obj
	upd.Status = b
	res, err := c.cluster.Apply(ctx, raftstore.UpdateStatusCommand(api.KindVirtualDisk, &upd))
	if err != nil {
		return false, fmt.Errorf("write status of disk %s: %w", d.key(), err)
	}
	if res.Err != nil {
		return false, fmt.Errorf("write status of disk %s: %w", d.key(), res.Err)
	}
	return true, nil
}

// update reads the current disk, lets mutate change its status and writes
// it with the resourceVersion precondition; on a conflict it waits until
// the local state has caught up and tries again. mutate returning false
// means "not mine any more": update then writes nothing and returns
// errSkipped.
func (c *Controller) update(ctx context.Context, namespace, name string, mutate func(d *disk) bool) error {
	for attempt := 0; ; attempt++ {
		obj, err := c.cluster.Get(api.KindVirtualDisk, namespace, name)
		if err != nil {
			return fmt.Errorf("update disk %s: %w", api.Key(namespace, name), err)
		}
		d, err := decodeDisk(obj)
		if err != nil {
			return err
		}
		if !mutate(d) {
			return errSkipped
		}
		_, err = c.writeStatus(ctx, d, d.status)
		if !errors.Is(err, raftstore.ErrConflict) || attempt >= 20 {
			return err
		}
		if err := c.waitApplied(ctx, obj.Metadata.RV()+1); err != nil {
			return err
		}
	}
}

// waitApplied waits (briefly) until the local state reached index.
func (c *Controller) waitApplied(ctx context.Context, index uint64) error {
	deadline := time.Now().Add(2 * time.Second)
	for c.cluster.AppliedIndex() < index && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// sameJSON compares two JSON documents by meaning.
func sameJSON(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}
