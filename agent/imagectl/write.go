package imagectl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"davit/raftstore"
)

// errSkipped: a mutation decided there was nothing to write.
var errSkipped = errors.New("nothing to write")

// writeStatus writes st as im's status if it differs, with im's
// resourceVersion as the precondition (ErrConflict when im is stale), and
// reports whether it wrote.
func (c *Controller) writeStatus(ctx context.Context, im *image, st Status) (bool, error) {
	b := mustJSON(st)
	if sameJSON(im.obj.Status, b) {
		return false, nil
	}
	upd := *im.obj
	upd.Status = b
	res, err := c.cluster.Apply(ctx, raftstore.UpdateStatusCommand(upd.Kind, &upd))
	if err != nil {
		return false, fmt.Errorf("write status of %s: %w", im.ref(), err)
	}
	if res.Err != nil {
		return false, fmt.Errorf("write status of %s: %w", im.ref(), res.Err)
	}
	return true, nil
}

// update reads the current image, lets mutate change its status and
// writes it with the resourceVersion precondition; on a conflict it waits
// until the local state has caught up and tries again. mutate returning
// false means "not mine any more": update then writes nothing and returns
// errSkipped.
func (c *Controller) update(ctx context.Context, r ref, mutate func(im *image) bool) error {
	for attempt := 0; ; attempt++ {
		obj, err := c.cluster.Get(r.kind, r.namespace, r.name)
		if err != nil {
			return fmt.Errorf("update %s: %w", r, err)
		}
		im, err := decodeImage(obj)
		if err != nil {
			return err
		}
		if !mutate(im) {
			return errSkipped
		}
		_, err = c.writeStatus(ctx, im, im.status)
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

// mustJSON encodes a status (every field marshals).
func mustJSON(st Status) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		panic("imagectl: marshal status: " + err.Error())
	}
	return b
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
