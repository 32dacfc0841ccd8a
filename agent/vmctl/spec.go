package vmctl

import (
	"errors"
	"fmt"
	"sort"

	"davit/api"
	"davit/qemu"
)

// ErrNotResolvable: the VM cannot become a boot spec (see the message).
var ErrNotResolvable = errors.New("cannot resolve the VM's boot spec")

// Device is one of a VM's block devices, resolved to a file on this node.
type Device struct {
	Ref    api.BlockDeviceRef
	Path   string
	Format string // qcow2 or raw
	// Image: a ClusterVirtualImage or VirtualImage, attached read-only;
	// CDROM: an ISO, attached as a CD-ROM.
	Image bool
	CDROM bool
}

// Host is what the boot spec takes from the node that starts the VM.
type Host struct {
	Accelerator qemu.Accelerator
	// CPUModel is the class resolved to QEMU's -cpu argument on this node
	// (cpuinfo.CPUArg).
	CPUModel string
}

// BootSpec resolves vm into the spec QEMU runs, pure: cores and topology,
// memory, firmware from the bootloader, the devices in boot order (the
// bootOrder values ascending, devices without one after them in list order;
// reference §6), images read-only, ISOs as CD-ROMs, disks read-write, and
// one user-mode NIC for the Main network. devs must be the VM's
// blockDeviceRefs, in spec order, resolved.
func BootSpec(vm *api.VirtualMachine, host Host, devs []Device) (qemu.Spec, error) {
	cores := vm.Spec.CPU.Cores
	mem := vm.Spec.Memory.Size.Bytes()
	if cores < 1 || mem <= 0 {
		return qemu.Spec{}, fmt.Errorf("%w: spec.cpu.cores %d and spec.memory.size %q must be positive",
			ErrNotResolvable, cores, vm.Spec.Memory.Size.String())
	}
	if len(devs) != len(vm.Spec.BlockDeviceRefs) {
		return qemu.Spec{}, fmt.Errorf("%w: %d of %d block devices resolved", ErrNotResolvable, len(devs), len(vm.Spec.BlockDeviceRefs))
	}
	const mib = 1 << 20
	sockets, perSocket := qemu.DefaultTopology(cores)
	spec := qemu.Spec{
		Name:        vm.Metadata.Namespace + "." + vm.Metadata.Name,
		UID:         vm.Metadata.UID,
		CPU:         qemu.CPU{Cores: cores, Sockets: sockets, CoresPerSocket: perSocket, Model: host.CPUModel},
		MemoryBytes: (mem + mib - 1) / mib * mib,
		Accelerator: host.Accelerator,
		Firmware:    qemu.Firmware{Type: qemu.FirmwareBIOS},
		NICs:        []qemu.NIC{{Type: qemu.NICUser}},
	}
	switch vm.Spec.Bootloader {
	case "", api.BootloaderBIOS:
	case api.BootloaderEFI, api.BootloaderEFIWithSecureBoot:
		spec.Firmware.Type = qemu.FirmwareEFI
	default:
		return qemu.Spec{}, fmt.Errorf("%w: spec.bootloader %q", ErrNotResolvable, vm.Spec.Bootloader)
	}
	for i, d := range orderDevices(devs) {
		bd := qemu.BlockDevice{
			Name: d.Ref.Kind + "/" + d.Ref.Name, Path: d.Path, Format: d.Format,
			ReadOnly: d.Image || d.CDROM, CDROM: d.CDROM, BootIndex: i + 1,
		}
		if d.CDROM {
			bd.Format = qemu.FormatRaw
		}
		spec.BlockDevices = append(spec.BlockDevices, bd)
	}
	spec = spec.WithDefaults()
	if err := spec.Validate(); err != nil {
		return qemu.Spec{}, fmt.Errorf("%w: %w", ErrNotResolvable, err)
	}
	return spec, nil
}

// orderDevices sorts devices by bootOrder; devices without one keep their
// list order after those with one.
func orderDevices(devs []Device) []Device {
	out := append([]Device(nil), devs...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Ref.BootOrder, out[j].Ref.BootOrder
		switch {
		case a != nil && b != nil:
			return *a < *b
		default:
			return a != nil && b == nil
		}
	})
	return out
}
