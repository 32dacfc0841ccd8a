package vmctl

import (
	"context"
	"fmt"
)

// ResizeOnline grows a disk file that a VM running on this node has open,
// with QMP block_resize on its block node, so the guest sees the new size
// at once. handled is false when no running VM here has path open (the
// caller then resizes the file offline).
func (c *Controller) ResizeOnline(ctx context.Context, path string, size int64) (handled bool, err error) {
	c.mu.Lock()
	var found []int
	var mons []func() error
	for _, l := range c.vms {
		inst := l.inst
		if inst == nil || inst.Exit() != nil || inst.Monitor() == nil {
			continue
		}
		for i, bd := range inst.Spec().BlockDevices {
			if bd.Path != path || bd.ReadOnly {
				continue
			}
			node := fmt.Sprintf("drive%d", i)
			found = append(found, i)
			mons = append(mons, func() error {
				return inst.Monitor().Run(ctx, "block_resize", map[string]any{"node-name": node, "size": size}, nil)
			})
		}
	}
	c.mu.Unlock()
	for _, run := range mons {
		if err := run(); err != nil {
			return true, fmt.Errorf("block_resize %s to %d bytes: %w", path, size, err)
		}
	}
	return len(found) > 0, nil
}
