package vmctl

import (
	"context"
	"time"

	"davit/raftstore"
)

// Watcher is optional: a Cluster that implements it wakes the passes as
// soon as a VM, an operation or a disk changes, instead of at the next
// resync (raftstore.Store has these methods).
type Watcher interface {
	Watch(ctx context.Context, kind, namespace, name string, fromIndex uint64) (*raftstore.Watcher, error)
}

// followedKinds are the kinds whose changes wake the passes.
var followedKinds = [...]string{"VirtualMachine", "VirtualMachineOperation", "VirtualDisk", "VirtualMachineClass"}

// follow wakes the passes on every change of kind until ctx ends, opening
// the watch again when it ends (an expired history, a snapshot restore).
func (c *Controller) follow(ctx context.Context, w Watcher, kind string) {
	defer c.wg.Done()
	for ctx.Err() == nil {
		wt, err := w.Watch(ctx, kind, "", "", c.cluster.AppliedIndex())
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(c.cfg.Resync):
			}
			continue
		}
		for range wt.Events() {
			c.poke()
		}
		wt.Stop()
	}
}

// startFollowing starts one follower per kind when the cluster can watch.
func (c *Controller) startFollowing(ctx context.Context) {
	w, ok := c.cluster.(Watcher)
	if !ok {
		return
	}
	for _, kind := range followedKinds {
		c.wg.Add(1)
		go c.follow(ctx, w, kind)
	}
}
