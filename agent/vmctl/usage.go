package vmctl

import (
	"context"
	"time"

	"davit/api"
	"davit/cgroup"
)

// Usage is one running VM of this node and its cgroup's counters.
type Usage struct {
	Namespace, Name, UID string
	Stats                cgroup.Stats
}

// Usage reads the cgroup counters of every VM running on this node (for
// /metrics). VMs whose group cannot be read are left out.
func (c *Controller) Usage() []Usage {
	if c.cfg.Cgroups == nil {
		return nil
	}
	c.mu.Lock()
	type vm struct{ ns, name, uid string }
	var running []vm
	for uid, l := range c.vms {
		if l.inst != nil && l.inst.Exit() == nil && l.name != "" {
			running = append(running, vm{l.namespace, l.name, uid})
		}
	}
	c.mu.Unlock()
	var out []Usage
	for _, v := range running {
		st, err := c.cfg.Cgroups.Stats(v.uid)
		if err != nil {
			continue
		}
		out = append(out, Usage{Namespace: v.ns, Name: v.name, UID: v.uid, Stats: st})
	}
	return out
}

// usageOf is status.usage from cgroup counters read at now.
func usageOf(st cgroup.Stats, now time.Time) *api.VMUsage {
	u := &api.VMUsage{
		Time:                *api.NewTime(now),
		CPUSeconds:          float64(st.UsageNs) / 1e9,
		CPUThrottledSeconds: float64(st.ThrottledNs) / 1e9,
		CPUThrottledPeriods: st.ThrottledPeriods,
		CPUPeriods:          st.Periods,
		MemoryBytes:         st.MemoryUsageBytes,
		MemoryLimitBytes:    st.MemoryLimitBytes,
	}
	if st.CPUPressure != nil {
		v := st.CPUPressure.Some.Avg10
		u.CPUPressureSome10 = &v
	}
	return u
}

// refreshUsage writes status.usage of a running VM every
// api.VMUsageInterval (not more often: each write is a Raft entry).
func (c *Controller) refreshUsage(ctx context.Context, vm *api.VirtualMachine, l *local, now time.Time) {
	if c.cfg.Cgroups == nil || now.Sub(l.usageAt) < api.VMUsageInterval {
		return
	}
	l.usageAt = now
	st, err := c.cfg.Cgroups.Stats(vm.Metadata.UID)
	if err != nil {
		c.log.Debug("read VM cgroup stats", "vm", vm.Metadata.Name, "err", err)
		return
	}
	u := usageOf(st, now)
	err = c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != c.cfg.NodeName || v.Status.Phase != api.VMRunning {
			return false
		}
		v.Status.Usage = u
		return true
	})
	c.logErr("write VM usage", vm, err)
}
