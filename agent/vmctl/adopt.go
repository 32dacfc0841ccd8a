package vmctl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"davit/qemu"
)

// adopt re-attaches to every QEMU still running under DATA/vms (after an
// agent restart or crash). The guest is not disturbed; the node pass then
// keeps each instance whose VM is placed here and stops the others.
func (c *Controller) adopt(ctx context.Context) {
	root := filepath.Dir(c.cfg.QEMU.Paths("x").Dir)
	entries, err := os.ReadDir(root)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Warn("list VM directories", "dir", root, "err", err)
		}
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		uid := e.Name()
		inst, err := qemu.Attach(ctx, c.cfg.QEMU, c.cfg.QEMU.Paths(uid).Dir)
		if err != nil {
			if !errors.Is(err, qemu.ErrNotRunning) {
				c.log.Warn("re-attach to QEMU", "uid", uid, "err", err)
			}
			continue
		}
		c.mu.Lock()
		c.vms[uid] = &local{inst: inst, startedAt: startTime(inst)}
		c.mu.Unlock()
		c.watch(ctx, inst)
		c.log.Info("re-attached to running VM", "uid", uid, "pid", inst.PID())
	}
}

// startTime is when inst's QEMU started: its pidfile's modification time
// (written once by QEMU at start), else now.
func startTime(inst *qemu.Instance) time.Time {
	if fi, err := os.Stat(inst.Paths().PIDFile()); err == nil {
		return fi.ModTime()
	}
	return time.Now()
}
