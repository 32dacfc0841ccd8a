package imagectl

import (
	"context"
	"encoding/json"

	"davit/agent/statusupdate"
	"davit/api"
)

// errSkipped: a mutation decided there was nothing to write.
var errSkipped = statusupdate.ErrSkipped

// writeStatus writes st as im's status if it differs, with im's
// resourceVersion as the precondition (ErrConflict when im is stale), and
// reports whether it wrote.
func (c *Controller) writeStatus(ctx context.Context, im *image, st Status) (bool, error) {
	return statusupdate.Write(ctx, c.cluster, im.obj, st)
}

// update reads the current image, lets mutate change its status and
// writes it with the resourceVersion precondition; on a conflict it waits
// until the local state has caught up and tries again. mutate returning
// false means "not mine any more": update then writes nothing and returns
// errSkipped.
func (c *Controller) update(ctx context.Context, r ref, mutate func(im *image) bool) error {
	return statusupdate.Update(ctx, c.cluster, r.kind, r.namespace, r.name, func(obj *api.Object) (any, error) {
		im, err := decodeImage(obj)
		if err != nil {
			return nil, err
		}
		if !mutate(im) {
			return nil, errSkipped
		}
		return im.status, nil
	})
}

// mustJSON encodes a status (every field marshals).
func mustJSON(st Status) []byte {
	b, err := json.Marshal(st)
	if err != nil {
		panic("imagectl: marshal status: " + err.Error())
	}
	return b
}
