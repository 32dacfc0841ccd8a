package diskctl

import (
	"context"

	"davit/agent/statusupdate"
	"davit/api"
)

// errSkipped: a mutation decided there was nothing to write.
var errSkipped = statusupdate.ErrSkipped

// writeStatus writes st as d's status if it differs, with d's
// resourceVersion as the precondition (ErrConflict when d is stale), and
// reports whether it wrote.
func (c *Controller) writeStatus(ctx context.Context, d *disk, st api.VirtualDiskStatus) (bool, error) {
	return statusupdate.Write(ctx, c.cluster, d.obj, st)
}

// update reads the current disk, lets mutate change its status and writes
// it with the resourceVersion precondition; on a conflict it waits until
// the local state has caught up and tries again. mutate returning false
// means "not mine any more": update then writes nothing and returns
// errSkipped.
func (c *Controller) update(ctx context.Context, namespace, name string, mutate func(d *disk) bool) error {
	return statusupdate.Update(ctx, c.cluster, api.KindVirtualDisk, namespace, name, func(obj *api.Object) (any, error) {
		d, err := decodeDisk(obj)
		if err != nil {
			return nil, err
		}
		if !mutate(d) {
			return nil, errSkipped
		}
		return d.status, nil
	})
}
