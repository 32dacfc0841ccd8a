package vmctl

import (
	"fmt"
	"strings"

	"davit/agent/scheduler"
	"davit/api"
	"davit/cgroup"
	"davit/qemu"
)

// resourcesOf is status.resources of vm running spec: cores, coreFraction,
// the guaranteed cores, topology, memory and the runtime overheads.
func resourcesOf(vm *api.VirtualMachine, spec qemu.Spec) *api.VMResources {
	milli := scheduler.DemandOf(vm).CPUMilli
	frac := vm.Spec.CPU.CoreFraction
	if frac == "" {
		frac = "100%"
	}
	overhead := cgroup.MemoryOverhead(spec.CPU.Cores, spec.MemoryBytes)
	return &api.VMResources{
		CPU: api.VMCPUResources{
			Cores: spec.CPU.Cores, CoreFraction: frac,
			RequestedCores:  fmt.Sprintf("%dm", milli),
			RuntimeOverhead: "0",
			Topology:        &api.VMTopology{Sockets: spec.CPU.Sockets, CoresPerSocket: spec.CPU.CoresPerSocket},
		},
		Memory: api.VMMemoryResources{
			Size:            vm.Spec.Memory.Size.String(),
			RuntimeOverhead: fmt.Sprintf("%dMi", overhead>>20),
		},
	}
}

// blockDeviceStatus is status.blockDeviceRefs: every device attached, with
// its boot order, target (the QEMU device id) and size where known.
func blockDeviceStatus(vm *api.VirtualMachine, spec qemu.Spec) []api.BlockDeviceStatusRef {
	var out []api.BlockDeviceStatusRef
	for i, bd := range spec.BlockDevices {
		kind, name := splitDeviceName(bd.Name)
		out = append(out, api.BlockDeviceStatusRef{Kind: kind, Name: name, Attached: true,
			Target: fmt.Sprintf("disk%d", i), BootOrder: bd.BootIndex})
	}
	return out
}

// splitDeviceName undoes BootSpec's "Kind/name" device names.
func splitDeviceName(s string) (kind, name string) {
	if kind, name, ok := strings.Cut(s, "/"); ok {
		return kind, name
	}
	return "", s
}
