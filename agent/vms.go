package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"davit/agent/vmctl"
	"davit/api"
	"davit/cgroup"
	"davit/cpuinfo"
	"davit/qemu"
	"davit/raftstore"
)

// vmController builds the VM controller: QEMU under DATA/vms, the
// accelerator from the config (auto: KVM where possible), cgroups under
// the configured parent (VMs run without limits, with a warning, where
// cgroups cannot be managed), the dedicated-CPU allocator persisted in
// DATA/dedicated-cpus.json, and image blobs through the image controller.
func (a *Agent) vmController() (*vmctl.Controller, error) {
	cfg := vmctl.DefaultConfig(a.cfg.DataDir)
	cfg.NodeName, cfg.Logger, cfg.Blobs = a.cfg.NodeName, a.log.With("component", "vms"), a.images
	accel, err := qemu.ChooseAccelerator(a.cfg.Accelerator)
	if err != nil {
		return nil, fmt.Errorf("vms: %w", err)
	}
	cfg.Accelerator = accel.Accelerator
	cfg.ResolveCPU = func(class *api.VirtualMachineClass) (string, error) {
		return a.resolveCPU(class, accel.Accelerator)
	}
	cg := cgroup.DefaultConfig()
	cg.Parent, cg.Logger = a.cfg.CgroupParent, a.log.With("component", "cgroup")
	if mgr, err := cgroup.New(cg); err != nil {
		a.log.Warn("cgroups unavailable: VMs run without CPU and memory limits", "err", err)
	} else {
		cfg.Cgroups = mgr
		// The CPUs the agent may run on (its own Cpus_allowed_list): CPU
		// numbers need not be 0..N-1 on a host that reserves some.
		cpus, err := cgroup.ReadCPUsAllowed(os.Getpid())
		if err != nil {
			return nil, fmt.Errorf("vms: %w", err)
		}
		if cfg.Allocator, err = cgroup.NewAllocator(filepath.Join(a.cfg.DataDir, "dedicated-cpus.json"), cpus, nil); err != nil {
			return nil, fmt.Errorf("vms: %w", err)
		}
	}
	c, err := vmctl.New(cfg, vmCluster{imageCluster{a}})
	if err != nil {
		return nil, fmt.Errorf("vms: %w", err)
	}
	return c, nil
}

// resolveCPU turns a class into QEMU's -cpu argument on this node.
func (a *Agent) resolveCPU(class *api.VirtualMachineClass, accel qemu.Accelerator) (string, error) {
	var features []string
	switch class.Spec.CPU.Type {
	case api.CPUTypeFeatures:
		features = class.Spec.CPU.Features
	case api.CPUTypeDiscovery:
		if class.Status.CPUFeatures != nil {
			features = class.Status.CPUFeatures.Enabled
		}
	}
	facts := a.cpuFacts.Load()
	if facts == nil {
		if accel == qemu.AccelTCG && (class.Spec.CPU.Type == api.CPUTypeHost || class.Spec.CPU.Type == api.CPUTypeHostPassthrough) {
			return "max", nil
		}
		return "", fmt.Errorf("this node's CPU facts are not known yet")
	}
	return cpuinfo.CPUArg(string(class.Spec.CPU.Type), class.Spec.CPU.Model, features, *facts)
}

// startVMs runs the VM controller until ctx ends; a.wg owns it.
func (a *Agent) startVMs(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.vms.Run(ctx); err != nil {
			a.log.Error("VM controller stopped", "err", err)
		}
	}()
}

// vmCluster is the agent as the VM controller sees it.
type vmCluster struct{ imageCluster }

func (c vmCluster) CaughtUp() bool { return c.a.caughtUp.Load() }

func (c vmCluster) Watch(ctx context.Context, kind, namespace, name string, from uint64) (*raftstore.Watcher, error) {
	return c.a.store.Watch(ctx, kind, namespace, name, from)
}
