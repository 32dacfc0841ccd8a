package vmctl

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"davit/api"
	"davit/qemu"
)

// starting returns the VM a start job is starting under uid (for the
// placement), or nil.
func (c *Controller) starting(uid string) *api.VirtualMachine {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.vms[uid]; l != nil {
		return l.vm
	}
	return nil
}

// startJob starts vm's QEMU in a job: Starting is written first, then the
// devices are resolved (image blobs fetched), the boot spec built and QEMU
// started; Running (with the boot spec and stats) or the failure is written
// after.
func (c *Controller) startJob(ctx context.Context, w *world, vm *api.VirtualMachine, want Want) {
	uid := vm.Metadata.UID
	l := c.entry(uid)
	c.mu.Lock()
	l.busy, l.vm = true, vm
	c.mu.Unlock()
	now := time.Now()
	var waited time.Duration
	if vm.Status.Stats != nil && len(vm.Status.Stats.PhasesTransitions) > 0 {
		waited = now.Sub(vm.Status.Stats.PhasesTransitions[len(vm.Status.Stats.PhasesTransitions)-1].Timestamp.Time)
	}
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, uid, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		v.Status.PowerState = want.PowerState
		setPhase(&v.Status, api.VMStarting, now)
		setCond(&v.Status, v.Metadata.Generation, condBlockDevicesReady, api.ConditionTrue, reasonBlockDevsReady, "", now)
		return true
	})
	if err != nil {
		c.logErr("write VM starting", vm, err)
		c.mu.Lock()
		l.busy, l.vm = false, nil
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.poke()
		inst, err := c.start(ctx, w, vm)
		c.mu.Lock()
		l.busy, l.vm = false, nil
		if err == nil {
			l.inst, l.startedAt, l.restartedFor = inst, time.Now(), want.RestartFor
		} else if ctx.Err() == nil {
			l.failures++
			l.retryAt = time.Now().Add(c.backoff(l.failures))
		}
		c.mu.Unlock()
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("start VM", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "err", err)
				c.writeStartFailed(context.WithoutCancel(ctx), vm, err)
			}
			return
		}
		c.watch(ctx, inst)
		c.log.Info("VM running", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "pid", inst.PID(),
			"took", time.Since(now).Round(time.Millisecond))
		facts := &startFacts{spec: inst.Spec(), began: now, ready: time.Now(), waited: waited, restartFor: want.RestartFor}
		c.mu.Lock()
		l.unrecorded = facts
		c.mu.Unlock()
		c.recordStart(context.WithoutCancel(ctx), vm, l, facts)
	}()
}

// start resolves and starts vm.
func (c *Controller) start(ctx context.Context, w *world, vm *api.VirtualMachine) (*qemu.Instance, error) {
	devs, err := c.resolveDevices(ctx, w, vm)
	if err != nil {
		return nil, err
	}
	host := Host{Accelerator: c.cfg.Accelerator}
	if class := w.classes[vm.Spec.VirtualMachineClassName]; class != nil && c.cfg.ResolveCPU != nil {
		if host.CPUModel, err = c.cfg.ResolveCPU(class); err != nil {
			return nil, fmt.Errorf("resolve the CPU of class %s: %w", class.Metadata.Name, err)
		}
	}
	spec, err := BootSpec(vm, host, devs)
	if err != nil {
		return nil, err
	}
	return qemu.Start(ctx, c.cfg.QEMU, spec)
}

// startFacts is what a start established, to be recorded in the VM's status.
type startFacts struct {
	spec         qemu.Spec // as QEMU runs it (defaults applied)
	began, ready time.Time
	waited       time.Duration
	restartFor   string
}

// recordStart writes a started instance into the VM's status: Running, the
// boot spec, the resources it runs with, its block devices, the launch
// stats and the Restart operation it was started for. Until that write
// lands (a leader election can refuse it) the facts stay in
// l.unrecorded and the node pass writes them again.
func (c *Controller) recordStart(ctx context.Context, vm *api.VirtualMachine, l *local, f *startFacts) {
	boot, _ := json.Marshal(f.spec)
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		setPhase(&v.Status, api.VMRunning, f.ready)
		setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionTrue, reasonRunning, "", f.ready)
		v.Status.BootSpec = boot
		v.Status.RestartedBy = f.restartFor
		v.Status.Resources = resourcesOf(v, f.spec)
		v.Status.BlockDeviceRefs = blockDeviceStatus(v, f.spec)
		if v.Status.Stats == nil {
			v.Status.Stats = &api.VMStats{}
		}
		v.Status.Stats.LastStartTime = api.NewTime(f.began)
		v.Status.Stats.LaunchTimeDuration = &api.VMLaunchTimeDuration{
			WaitingForDependencies: f.waited.Round(time.Second).String(),
			VirtualMachineStarting: f.ready.Sub(f.began).Round(time.Millisecond).String(),
		}
		v.Status.ObservedGeneration = v.Metadata.Generation
		return true
	})
	c.logErr("write VM running", vm, err)
	if err == nil {
		c.mu.Lock()
		if l.unrecorded == f {
			l.unrecorded = nil
		}
		c.mu.Unlock()
	}
}

// writeStartFailed records why a start failed (QEMU's stderr included).
func (c *Controller) writeStartFailed(ctx context.Context, vm *api.VirtualMachine, cause error) {
	now := time.Now()
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName {
			return false
		}
		setPhase(&v.Status, api.VMPending, now)
		setCond(&v.Status, v.Metadata.Generation, condRunning, api.ConditionFalse, reasonInternalError, cause.Error(), now)
		return true
	})
	c.logErr("write VM start failure", vm, err)
}

// stopJob stops the running instance in a job: Stopping is written first;
// the grace period is the VM's terminationGracePeriodSeconds, none when
// forced. restart keeps the VM placed here (the next pass starts it);
// otherwise the next pass hands it back Stopped.
func (c *Controller) stopJob(ctx context.Context, vm *api.VirtualMachine, want Want, restart bool) {
	uid := vm.Metadata.UID
	l := c.entry(uid)
	c.mu.Lock()
	inst := l.inst
	if inst == nil || l.busy {
		c.mu.Unlock()
		return
	}
	l.busy, l.stopping = true, true
	c.mu.Unlock()
	now := time.Now()
	phase := api.VMStopping
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, uid, func(v *api.VirtualMachine) bool {
		setPhase(&v.Status, phase, now)
		v.Status.PowerState = want.PowerState
		return true
	})
	c.logErr("write VM stopping", vm, err)
	grace := 60 * time.Second
	if g := vm.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	if want.Force {
		grace = 0
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.poke()
		method, err := inst.Stop(ctx, grace)
		c.log.Info("VM stopped", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "method", method, "restart", restart, "err", err)
		c.mu.Lock()
		defer c.mu.Unlock()
		l.busy, l.stopping = false, false
		if inst.Exit() != nil {
			_ = inst.Close()
			l.inst = nil
		}
	}()
}
