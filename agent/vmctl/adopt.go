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
		if c.cfg.Cgroups != nil {
			if spec, err := c.cfg.Cgroups.Load(uid); err != nil {
				c.log.Warn("re-adopt the cgroup of a running VM", "uid", uid, "err", err)
			} else {
				c.log.Info("re-adopted VM cgroup", "uid", uid, "guaranteedMilliCPU", spec.CPUGuaranteedMilli,
					"cores", spec.CPULimitCores, "memoryBytes", spec.MemoryBytes, "dedicatedCPUs", spec.DedicatedCPUs)
			}
		}
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

// gcDirs (every node pass: a directory read, and more only for the rare
// directory without a VM) removes DATA/vms/<uid> directories whose VM no longer exists
// (deleted while stopped, or while its QEMU was exiting) and that have no
// live QEMU and no local record. A stopped VM keeps its directory: an EFI
// VM's variable store lives there between starts.
func (c *Controller) gcDirs(w *world) {
	root := filepath.Dir(c.cfg.QEMU.Paths("x").Dir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	exists := map[string]bool{}
	for _, vm := range w.vms {
		exists[vm.Metadata.UID] = true
	}
	for _, e := range entries {
		uid := e.Name()
		c.mu.Lock()
		_, tracked := c.vms[uid]
		c.mu.Unlock()
		if !e.IsDir() || exists[uid] || tracked {
			continue
		}
		if inst, err := qemu.Attach(context.Background(), c.cfg.QEMU, filepath.Join(root, uid)); err == nil {
			_ = inst.Close() // a live QEMU: adopt handles it (or the next start of the agent)
			continue
		}
		if err := c.releaseGroup(uid); err != nil {
			c.log.Warn("release cgroup of a deleted VM", "uid", uid, "err", err)
			continue
		}
		if err := os.RemoveAll(filepath.Join(root, uid)); err != nil {
			c.log.Warn("remove directory of a deleted VM", "uid", uid, "err", err)
			continue
		}
		c.log.Info("removed the directory of a deleted VM", "uid", uid)
	}
}
