package vmctl

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"davit/api"
	"davit/qemu"
	"davit/qemu/qemutest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const specUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

// specVM is a VM of cores and memory with the given block devices.
func specVM(cores int, mem string, refs ...api.BlockDeviceRef) *api.VirtualMachine {
	vm := &api.VirtualMachine{
		TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: "VirtualMachine"},
		Metadata: api.ObjectMeta{Namespace: "prod", Name: "web-1", UID: specUID},
		Spec: api.VirtualMachineSpec{
			CPU:             api.VMCPU{Cores: cores, CoreFraction: "100%"},
			BlockDeviceRefs: refs,
		},
	}
	if mem != "" {
		vm.Spec.Memory.Size = api.MustParseQuantity(mem)
	}
	return vm
}

func bootOrder(n int) *int { return &n }

func diskRef(name string, order *int) api.BlockDeviceRef {
	return api.BlockDeviceRef{Kind: api.KindVirtualDisk, Name: name, BootOrder: order}
}

func cviRef(name string, order *int) api.BlockDeviceRef {
	return api.BlockDeviceRef{Kind: api.KindClusterVirtualImage, Name: name, BootOrder: order}
}

func viRef(name string, order *int) api.BlockDeviceRef {
	return api.BlockDeviceRef{Kind: api.KindVirtualImage, Name: name, BootOrder: order}
}

// resolved resolves refs the way resolveDevices does: disks read-write
// qcow2 files, images read-only blobs (ISOs, whose name ends in "iso",
// as CD-ROMs).
func resolved(refs []api.BlockDeviceRef) []Device {
	var devs []Device
	for _, r := range refs {
		d := Device{Ref: r}
		switch {
		case r.Kind == api.KindVirtualDisk:
			d.Path, d.Format = "/var/lib/davit/disks/"+r.Name+".qcow2", qemu.FormatQCOW2
		case strings.HasSuffix(r.Name, "iso"):
			d.Path, d.Format, d.Image, d.CDROM = "/var/lib/davit/blobs/"+r.Name, qemu.FormatRaw, true, true
		default:
			d.Path, d.Format, d.Image = "/var/lib/davit/blobs/"+r.Name, qemu.FormatQCOW2, true
		}
		devs = append(devs, d)
	}
	return devs
}

func bootSpecOf(t *testing.T, vm *api.VirtualMachine, host Host) qemu.Spec {
	t.Helper()
	spec, err := BootSpec(vm, host, resolved(vm.Spec.BlockDeviceRefs))
	require.NoError(t, err)
	return spec
}

var tcg = Host{Accelerator: qemu.AccelTCG}

func TestBootSpecBootOrder(t *testing.T) {
	vm := specVM(1, "1Gi",
		diskRef("data", nil),
		cviRef("installer-iso", bootOrder(2)),
		diskRef("root", bootOrder(1)),
		viRef("tools", nil),
		diskRef("scratch", bootOrder(7)),
	)
	spec := bootSpecOf(t, vm, tcg)
	var names []string
	var indexes []int
	for _, bd := range spec.BlockDevices {
		names = append(names, bd.Name)
		indexes = append(indexes, bd.BootIndex)
	}
	assert.Equal(t, []string{
		"VirtualDisk/root", "ClusterVirtualImage/installer-iso", "VirtualDisk/scratch", // bootOrder 1, 2, 7
		"VirtualDisk/data", "VirtualImage/tools", // unset, in list order
	}, names)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, indexes)
}

func TestBootSpecBootOrderTiesKeepListOrder(t *testing.T) {
	vm := specVM(1, "1Gi", diskRef("b", bootOrder(1)), diskRef("a", bootOrder(1)), diskRef("c", nil))
	spec := bootSpecOf(t, vm, tcg)
	require.Len(t, spec.BlockDevices, 3)
	assert.Equal(t, "VirtualDisk/b", spec.BlockDevices[0].Name)
	assert.Equal(t, "VirtualDisk/a", spec.BlockDevices[1].Name)
	assert.Equal(t, "VirtualDisk/c", spec.BlockDevices[2].Name)
}

func TestBootSpecDevices(t *testing.T) {
	vm := specVM(1, "1Gi", cviRef("debian-iso", nil), viRef("base", nil), diskRef("root", nil))
	spec := bootSpecOf(t, vm, tcg)
	require.Len(t, spec.BlockDevices, 3)

	iso, img, disk := spec.BlockDevices[0], spec.BlockDevices[1], spec.BlockDevices[2]
	assert.Equal(t, qemu.BlockDevice{Name: "ClusterVirtualImage/debian-iso", Path: "/var/lib/davit/blobs/debian-iso",
		Format: qemu.FormatRaw, ReadOnly: true, CDROM: true, BootIndex: 1}, iso, "an ISO is a raw read-only CD-ROM")
	assert.Equal(t, qemu.BlockDevice{Name: "VirtualImage/base", Path: "/var/lib/davit/blobs/base",
		Format: qemu.FormatQCOW2, ReadOnly: true, BootIndex: 2}, img, "an image is read-only")
	assert.Equal(t, qemu.BlockDevice{Name: "VirtualDisk/root", Path: "/var/lib/davit/disks/root.qcow2",
		Format: qemu.FormatQCOW2, BootIndex: 3}, disk, "a disk is read-write qcow2")
}

func TestBootSpecISOIsRawWhateverItsFormat(t *testing.T) {
	vm := specVM(1, "1Gi", cviRef("odd-iso", nil))
	devs := resolved(vm.Spec.BlockDeviceRefs)
	devs[0].Format = qemu.FormatQCOW2
	spec, err := BootSpec(vm, tcg, devs)
	require.NoError(t, err)
	assert.Equal(t, qemu.FormatRaw, spec.BlockDevices[0].Format)
	assert.True(t, spec.BlockDevices[0].ReadOnly)
}

func TestBootSpecFirmware(t *testing.T) {
	for bootloader, want := range map[string]qemu.FirmwareType{
		"":                              qemu.FirmwareBIOS,
		api.BootloaderBIOS:              qemu.FirmwareBIOS,
		api.BootloaderEFI:               qemu.FirmwareEFI,
		api.BootloaderEFIWithSecureBoot: qemu.FirmwareEFI,
	} {
		t.Run(or(bootloader, "unset"), func(t *testing.T) {
			vm := specVM(1, "1Gi", diskRef("root", nil))
			vm.Spec.Bootloader = bootloader
			spec := bootSpecOf(t, vm, tcg)
			assert.Equal(t, want, spec.Firmware.Type)
			if want == qemu.FirmwareEFI {
				assert.Equal(t, qemu.DefaultOVMFCode, spec.Firmware.Code)
				assert.Equal(t, qemu.DefaultOVMFVars, spec.Firmware.VarsTemplate)
			}
		})
	}
}

func TestBootSpecMachine(t *testing.T) {
	vm := specVM(2, "2Gi", diskRef("root", nil))
	spec := bootSpecOf(t, vm, Host{Accelerator: qemu.AccelKVM, CPUModel: "Nehalem,+sse4.2"})
	assert.Equal(t, "prod.web-1", spec.Name)
	assert.Equal(t, specUID, spec.UID)
	assert.Equal(t, qemu.AccelKVM, spec.Accelerator)
	assert.Equal(t, "Nehalem,+sse4.2", spec.CPU.Model, "the resolved CPU model is passed through")
	assert.Equal(t, int64(2<<30), spec.MemoryBytes)
	assert.Equal(t, qemu.DefaultMachine, spec.Machine)
	require.Len(t, spec.NICs, 1)
	assert.Equal(t, qemu.NICUser, spec.NICs[0].Type)
	assert.Equal(t, spec, spec.WithDefaults(), "defaults are applied")

	spec = bootSpecOf(t, specVM(1, "1Gi", diskRef("root", nil)), tcg)
	assert.Equal(t, qemu.DefaultCPUModel, spec.CPU.Model, "no model resolved: QEMU's default")
}

func TestBootSpecMemoryRoundsUpToMiB(t *testing.T) {
	for mem, want := range map[string]int64{
		"512Mi":    512 << 20,
		"1G":       954 << 20, // 1e9 bytes = 953.67 MiB
		"16777217": 17 << 20,  // 16 MiB and a byte
		"1.5Gi":    1536 << 20,
		"1048576k": 1000 << 20, // 1.048576e9 bytes = 1000 MiB exactly
	} {
		t.Run(mem, func(t *testing.T) {
			spec := bootSpecOf(t, specVM(1, mem, diskRef("root", nil)), tcg)
			assert.Equal(t, want, spec.MemoryBytes)
			assert.Zero(t, spec.MemoryBytes%(1<<20))
		})
	}
}

func TestBootSpecTopology(t *testing.T) {
	for _, tc := range []struct{ cores, sockets, perSocket int }{
		{1, 1, 1}, {4, 1, 4}, {16, 1, 16}, {20, 2, 10}, {32, 2, 16}, {48, 4, 12}, {96, 8, 12},
	} {
		t.Run(strconv.Itoa(tc.cores), func(t *testing.T) {
			spec := bootSpecOf(t, specVM(tc.cores, "1Gi", diskRef("root", nil)), tcg)
			assert.Equal(t, qemu.CPU{Cores: tc.cores, Sockets: tc.sockets, CoresPerSocket: tc.perSocket, Model: qemu.DefaultCPUModel}, spec.CPU)
		})
	}
}

func TestBootSpecErrors(t *testing.T) {
	cases := []struct {
		name    string
		vm      *api.VirtualMachine
		devs    func([]Device) []Device
		message string
		invalid bool // also wraps qemu.ErrInvalidSpec
	}{
		{name: "zero memory", vm: specVM(1, "", diskRef("root", nil)), message: "spec.memory.size"},
		{name: "memory 0", vm: specVM(1, "0", diskRef("root", nil)), message: "spec.memory.size"},
		{name: "zero cores", vm: specVM(0, "1Gi", diskRef("root", nil)), message: "spec.cpu.cores 0"},
		{name: "a device not resolved", vm: specVM(1, "1Gi", diskRef("root", nil), cviRef("iso", nil)),
			devs: func(d []Device) []Device { return d[:1] }, message: "1 of 2 block devices resolved"},
		{name: "a device too many", vm: specVM(1, "1Gi", diskRef("root", nil)),
			devs: func(d []Device) []Device { return append(d, d[0]) }, message: "2 of 1 block devices resolved"},
		{name: "unknown bootloader", vm: func() *api.VirtualMachine {
			vm := specVM(1, "1Gi", diskRef("root", nil))
			vm.Spec.Bootloader = "UEFI"
			return vm
		}(), message: `spec.bootloader "UEFI"`},
		{name: "no bootable device", vm: specVM(1, "1Gi"), message: "no bootable device", invalid: true},
		{name: "a relative path", vm: specVM(1, "1Gi", diskRef("root", nil)),
			devs: func(d []Device) []Device { d[0].Path = "root.qcow2"; return d }, message: "root.qcow2", invalid: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			devs := resolved(tc.vm.Spec.BlockDeviceRefs)
			if tc.devs != nil {
				devs = tc.devs(devs)
			}
			spec, err := BootSpec(tc.vm, tcg, devs)
			require.ErrorIs(t, err, ErrNotResolvable)
			assert.Contains(t, err.Error(), tc.message)
			assert.Equal(t, tc.invalid, errors.Is(err, qemu.ErrInvalidSpec))
			assert.Equal(t, qemu.Spec{}, spec)
		})
	}
}

func TestBootSpecIsPure(t *testing.T) {
	vm := specVM(2, "1Gi", diskRef("b", nil), diskRef("a", bootOrder(1)))
	devs := resolved(vm.Spec.BlockDeviceRefs)
	before := append([]Device(nil), devs...)
	a, err := BootSpec(vm, tcg, devs)
	require.NoError(t, err)
	b, err := BootSpec(vm, tcg, devs)
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.Equal(t, before, devs, "BootSpec must not reorder its devices")
}

// TestBootSpecGolden pins the QEMU command line of a VM with a disk, a CVI
// ISO and a CVI qcow2 image. Rewrite with go test -run TestBootSpecGolden
// -update.
func TestBootSpecGolden(t *testing.T) {
	vm := specVM(2, "2Gi",
		diskRef("root", bootOrder(2)),
		cviRef("debian-12-iso", bootOrder(1)),
		cviRef("tools", nil),
	)
	devs := []Device{
		{Ref: vm.Spec.BlockDeviceRefs[0], Path: "/var/lib/davit/disks/prod/root.qcow2", Format: qemu.FormatQCOW2},
		{Ref: vm.Spec.BlockDeviceRefs[1], Path: "/var/lib/davit/blobs/sha256/4f1e0d2c", Format: qemu.FormatRaw, Image: true, CDROM: true},
		{Ref: vm.Spec.BlockDeviceRefs[2], Path: "/var/lib/davit/blobs/sha256/9a8b7c6d", Format: qemu.FormatQCOW2, Image: true},
	}
	spec, err := BootSpec(vm, Host{Accelerator: qemu.AccelTCG, CPUModel: "Nehalem"}, devs)
	require.NoError(t, err)
	argv, err := qemu.Command(spec, qemu.PathsFor("/var/lib/davit", vm.Metadata.UID))
	require.NoError(t, err)
	got := qemutest.FormatArgv(argv)

	golden := filepath.Join("testdata", "bootspec.golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestBootSpecGolden -update")
	require.Equal(t, string(want), got)
}
