package vmctl

import (
	"context"
	"errors"
	"fmt"

	"davit/agent/scheduler"
	"davit/api"
	"davit/cgroup"
	"davit/qemu"
)

// placement puts a starting QEMU into the VM's cgroup (qemu.Placement):
// the weight of its guaranteed CPU (cores × coreFraction), a CFS quota of
// its cores, memory plus cgroup.MemoryOverhead, and for a VM with dedicated
// cores one exclusive host CPU per vCPU thread. It reads the VM's resources
// from the spec the controller registered for the uid before Start.
type placement struct{ c *Controller }

// groupSpec is the cgroup a VM gets, pure.
func groupSpec(vm *api.VirtualMachine) cgroup.Spec {
	cores := vm.Spec.CPU.Cores
	mem := vm.Spec.Memory.Size.Bytes()
	return cgroup.Spec{
		CPUGuaranteedMilli: scheduler.DemandOf(vm).CPUMilli,
		CPULimitCores:      cores,
		MemoryBytes:        mem + cgroup.MemoryOverhead(cores, mem),
	}
}

func (p *placement) Place(ctx context.Context, placed qemu.Placed) error {
	c := p.c
	vm := c.starting(placed.UID)
	if vm == nil {
		return fmt.Errorf("place VM %s: no VM registered for the start", placed.UID)
	}
	spec := groupSpec(vm)
	if vm.Spec.CPU.DedicatedCores {
		if c.cfg.Allocator == nil {
			return fmt.Errorf("place VM %s: dedicated cores asked, but this node has no CPU allocator", vm.Metadata.Name)
		}
		cpus, err := c.cfg.Allocator.Allocate(placed.UID, vm.Spec.CPU.Cores)
		if err != nil {
			return fmt.Errorf("allocate %d dedicated CPUs: %w", vm.Spec.CPU.Cores, err)
		}
		spec.DedicatedCPUs = cpus
	}
	if err := c.cfg.Cgroups.Create(placed.UID, spec); errors.Is(err, cgroup.ErrExists) {
		// A group left by an earlier instance (QEMU killed with the
		// agent): start from a clean one. Only the group goes: the CPUs
		// just allocated stay this VM's.
		if err := c.cfg.Cgroups.Delete(placed.UID); err != nil {
			return fmt.Errorf("delete the stale cgroup: %w", err)
		}
		err = c.cfg.Cgroups.Create(placed.UID, spec)
		if err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	if err := c.cfg.Cgroups.AddProcess(placed.UID, placed.PID); err != nil {
		return fmt.Errorf("add QEMU %d to its cgroup: %w", placed.PID, err)
	}
	for i, v := range placed.VCPUs {
		if i >= len(spec.DedicatedCPUs) {
			break
		}
		if err := c.cfg.Cgroups.PinThread(placed.UID, v.ThreadID, spec.DedicatedCPUs[i]); err != nil {
			return fmt.Errorf("pin vCPU %d (thread %d) to CPU %d: %w", v.Index, v.ThreadID, spec.DedicatedCPUs[i], err)
		}
	}
	return nil
}

// Release undoes Place after a failed start.
func (p *placement) Release(_ context.Context, uid string) error { return p.c.releaseGroup(uid) }

// releaseGroup deletes VM uid's cgroup and frees its dedicated CPUs. A
// group that does not exist is fine.
func (c *Controller) releaseGroup(uid string) error {
	if c.cfg.Cgroups == nil {
		return nil
	}
	if err := c.cfg.Cgroups.Delete(uid); err != nil && !errors.Is(err, cgroup.ErrNotFound) {
		return fmt.Errorf("delete cgroup of VM %s: %w", uid, err)
	}
	if c.cfg.Allocator != nil {
		if err := c.cfg.Allocator.Release(uid); err != nil {
			return fmt.Errorf("release dedicated CPUs of VM %s: %w", uid, err)
		}
	}
	return nil
}
