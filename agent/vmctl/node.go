package vmctl

import (
	"context"
	"os"
	"time"

	"davit/api"
	"davit/raftstore"
)

// nodePass acts on the VMs placed on this node and on the local instances
// whose VM is gone or placed elsewhere.
func (c *Controller) nodePass(ctx context.Context) {
	w := c.read()
	now := time.Now()
	mine := map[string]bool{}
	for _, vm := range w.vms {
		if vm.Status.NodeName != c.cfg.NodeName {
			continue
		}
		mine[vm.Metadata.UID] = true
		if ctx.Err() != nil {
			return
		}
		c.reconcile(ctx, w, vm, now)
	}
	c.mu.Lock()
	var orphans []string
	for uid, l := range c.vms {
		if !mine[uid] && !l.busy {
			orphans = append(orphans, uid)
		}
	}
	c.mu.Unlock()
	for _, uid := range orphans {
		c.removeOrphan(ctx, uid)
	}
	c.gcDirs(w)
}

// entry returns (creating) the local record of uid.
func (c *Controller) entry(uid string) *local {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.vms[uid]
	if l == nil {
		l = &local{}
		c.vms[uid] = l
	}
	return l
}

// reconcile brings one VM placed here to what it should be.
func (c *Controller) reconcile(ctx context.Context, w *world, vm *api.VirtualMachine, now time.Time) {
	uid := vm.Metadata.UID
	l := c.entry(uid)
	c.mu.Lock()
	busy, inst, restartedFor, evicting, retryAt, unrecorded := l.busy, l.inst, l.restartedFor, l.evicting, l.retryAt, l.unrecorded
	l.namespace, l.name = vm.Metadata.Namespace, vm.Metadata.Name
	c.mu.Unlock()
	if busy {
		return
	}
	if inst != nil && inst.Exit() != nil {
		c.exited(ctx, vm, l, now)
		return
	}
	want := Desired(vm, w.ops, now)
	switch {
	case want.Run && inst == nil && evicting:
		c.handBack(ctx, vm, api.PowerOn, "moved off node "+c.cfg.NodeName+": "+conditionMessage(vm, condEvictionRequired), now)
	case want.Run && inst == nil:
		if now.Before(retryAt) {
			return
		}
		if msg, reason := c.devicesReady(w, vm); msg != "" {
			c.waitDevices(ctx, vm, msg, reason, now)
			return
		}
		c.startJob(ctx, w, vm, want)
	case want.Run && shouldEvict(vm, want):
		// The seam for live migration: a migration will replace this
		// restart through the leader's placement.
		c.mu.Lock()
		l.evicting = true
		c.mu.Unlock()
		c.stopJob(ctx, vm, want, false)
	case want.Run && needsRestart(vm, want) && restartedFor != want.RestartFor:
		c.stopJob(ctx, vm, want, true)
	case want.Run && unrecorded != nil:
		c.recordStart(ctx, vm, l, unrecorded)
	case want.Run:
		c.markRunning(ctx, vm, l, now)
		c.refreshUsage(ctx, vm, l, now)
	case inst != nil:
		c.stopJob(ctx, vm, want, false)
	case vm.Metadata.DeletionTimestamp != nil:
		c.finishDeletion(ctx, vm)
	default:
		c.handBack(ctx, vm, want.PowerState, "the VM is stopped ("+want.Why+")", now)
	}
}

// handBack writes Stopped with no node: the VM no longer runs here and the
// leader owns it again.
func (c *Controller) handBack(ctx context.Context, vm *api.VirtualMachine, power, msg string, now time.Time) {
	uid := vm.Metadata.UID
	if err := c.releaseGroup(uid); err != nil {
		c.log.Warn("release VM cgroup", "vm", vm.Metadata.Name, "err", err)
	}
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, uid, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		v.Status.NodeName = ""
		v.Status.PowerState = power
		setPhase(&v.Status, api.VMStopped, now)
		setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionFalse, reasonNotRunning, msg, now)
		for i := range v.Status.BlockDeviceRefs {
			v.Status.BlockDeviceRefs[i].Attached = false
		}
		return true
	})
	c.logErr("write VM stopped", vm, err)
	if err == nil {
		c.mu.Lock()
		delete(c.vms, uid)
		c.mu.Unlock()
		c.log.Info("VM stopped", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "powerState", power)
	}
}

// finishDeletion removes a deleted VM's files and cgroup, then its
// finalizer; its QEMU is already stopped.
func (c *Controller) finishDeletion(ctx context.Context, vm *api.VirtualMachine) {
	uid := vm.Metadata.UID
	if err := c.releaseGroup(uid); err != nil {
		c.log.Warn("release VM cgroup", "vm", vm.Metadata.Name, "err", err)
		return
	}
	if err := os.RemoveAll(c.cfg.QEMU.Paths(uid).Dir); err != nil {
		c.log.Warn("remove VM directory", "vm", vm.Metadata.Name, "err", err)
		return
	}
	_ = c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, uid, func(v *api.VirtualMachine) bool {
		setPhase(&v.Status, api.VMTerminating, time.Now())
		return true
	})
	res, err := c.cluster.Apply(ctx, raftstore.RemoveFinalizerCommand("VirtualMachine", vm.Metadata.Namespace, vm.Metadata.Name, Finalizer))
	if err == nil {
		err = res.Err
	}
	c.logErr("remove VM finalizer", vm, err)
	if err == nil {
		c.mu.Lock()
		delete(c.vms, uid)
		c.mu.Unlock()
		c.log.Info("VM deleted", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name)
	}
}

// exited handles a QEMU that ended without davit stopping it: a guest
// poweroff or a crash. The VM is then restarted here (after a backoff when
// it failed) or handed back stopped, as its runPolicy says.
func (c *Controller) exited(ctx context.Context, vm *api.VirtualMachine, l *local, now time.Time) {
	c.mu.Lock()
	inst := l.inst
	ex := inst.Exit()
	l.inst = nil
	ran := now.Sub(l.startedAt)
	if ran >= c.cfg.StableAfter {
		l.failures = 0
	}
	guestOff := ex.GuestPoweroff()
	if !guestOff {
		l.failures++
		l.retryAt = now.Add(c.backoff(l.failures))
	}
	c.mu.Unlock()
	_ = inst.Close()
	if err := c.releaseGroup(vm.Metadata.UID); err != nil {
		c.log.Warn("release VM cgroup", "vm", vm.Metadata.Name, "err", err)
	}
	power := AfterExit(vm, guestOff)
	reason, msg := reasonGuestNotRunning, "the guest powered off"
	if !guestOff {
		reason, msg = reasonInternalError, ex.Error()
	}
	c.log.Info("QEMU exited", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "pid", ex.PID, "guestPoweroff", guestOff,
		"powerState", power, "exit", ex.Error())
	probe := *vm
	probe.Status.PowerState = power
	if Desired(&probe, nil, now).Run {
		err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
			v.Status.PowerState = power
			setPhase(&v.Status, api.VMStarting, now)
			setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionFalse, reason, msg+"; restarting", now)
			return true
		})
		c.logErr("write VM restarting", vm, err)
		return
	}
	c.handBack(ctx, vm, power, msg, now)
}

// markRunning makes sure a live instance's VM says Running (after a
// re-attach, or when the write after the start was lost).
func (c *Controller) markRunning(ctx context.Context, vm *api.VirtualMachine, l *local, now time.Time) {
	if vm.Status.Phase == api.VMRunning {
		return
	}
	c.mu.Lock()
	inst := l.inst
	c.mu.Unlock()
	if inst == nil {
		return
	}
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		setPhase(&v.Status, api.VMRunning, now)
		setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionTrue, reasonRunning, "", now)
		return true
	})
	c.logErr("write VM running", vm, err)
}

// removeOrphan stops a local instance whose VM is gone or placed on
// another node, and removes its files and cgroup.
func (c *Controller) removeOrphan(ctx context.Context, uid string) {
	c.mu.Lock()
	l := c.vms[uid]
	if l == nil || l.busy {
		c.mu.Unlock()
		return
	}
	inst := l.inst
	l.busy = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.poke()
		if inst != nil {
			method, err := inst.Stop(ctx, 0)
			c.log.Info("stopped QEMU of a VM that is not placed here", "uid", uid, "method", method, "err", err)
			_ = inst.Close()
		}
		if err := c.releaseGroup(uid); err != nil {
			c.log.Warn("release orphan cgroup", "uid", uid, "err", err)
		}
		if ctx.Err() == nil {
			if err := os.RemoveAll(c.cfg.QEMU.Paths(uid).Dir); err != nil {
				c.log.Warn("remove orphan VM directory", "uid", uid, "err", err)
			}
		}
		c.mu.Lock()
		delete(c.vms, uid)
		c.mu.Unlock()
	}()
}
