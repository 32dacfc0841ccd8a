package qemu

import (
	"davit/qemu/qemutest"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const goldenUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

var goldenPaths = Paths{Dir: "/var/lib/davit/vms/" + goldenUID}

func baseSpec() Spec {
	return Spec{
		Name:        "web-1",
		UID:         goldenUID,
		CPU:         CPU{Cores: 1, Model: "Nehalem"},
		MemoryBytes: 1 << 30,
		Accelerator: AccelTCG,
		BlockDevices: []BlockDevice{
			{Name: "vd/root", Path: "/var/lib/davit/disks/root.qcow2", Format: FormatQCOW2, Serial: "root"},
		},
	}
}

func TestCommandGolden(t *testing.T) {
	cases := map[string]func(s *Spec){
		"bios-disk": func(s *Spec) {},
		"efi": func(s *Spec) {
			s.Firmware = Firmware{Type: FirmwareEFI}
		},
		"iso-cdrom-and-disk": func(s *Spec) {
			s.BlockDevices = []BlockDevice{
				{Name: "cvi/debian-iso", Path: "/var/lib/davit/images/debian,12.iso", CDROM: true},
				{Name: "vd/root", Path: "/var/lib/davit/disks/root.qcow2"},
			}
		},
		"readonly-image": func(s *Spec) {
			s.BlockDevices = []BlockDevice{
				{Name: "vi/base", Path: "/var/lib/davit/images/base.qcow2", ReadOnly: true},
				{Name: "vd/data", Path: "/var/lib/davit/disks/data.raw", Format: FormatRaw, BootIndex: 0},
			}
		},
		"multi-core-topology": func(s *Spec) {
			s.CPU = CPU{Cores: 24, Model: "qemu64,+sse4.2,-x2apic"}
			s.MemoryBytes = 48 << 30
		},
		"kvm-host": func(s *Spec) {
			s.Accelerator = AccelKVM
			s.CPU = CPU{Cores: 4, Sockets: 2, CoresPerSocket: 2, Model: "host"}
			s.NICs = []NIC{{Type: NICUser}}
		},
		"direct-kernel": func(s *Spec) {
			s.Name = "test,guest"
			s.UID = "guest-1"
			s.BlockDevices = nil
			s.DirectBoot = &DirectBoot{Kernel: "/g/vmlinux", Initrd: "/g/initrd.img", Append: "console=ttyS0 quiet"}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			spec := baseSpec()
			mutate(&spec)
			argv, err := Command(spec, goldenPaths)
			require.NoError(t, err)
			var b strings.Builder
			b.WriteString(qemutest.FormatArgv(argv))
			b.WriteString("# QMP plan\n")
			for _, p := range Plan(spec) {
				j, err := json.Marshal(p)
				require.NoError(t, err)
				b.WriteString(string(j) + "\n")
			}
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestCommandGolden -update")
			require.Equal(t, string(want), b.String())
		})
	}
}

func TestCommandIsPure(t *testing.T) {
	spec := baseSpec()
	before, _ := json.Marshal(spec)
	a1, err := Command(spec, goldenPaths)
	require.NoError(t, err)
	a2, err := Command(spec, goldenPaths)
	require.NoError(t, err)
	require.Equal(t, a1, a2)
	after, _ := json.Marshal(spec)
	require.JSONEq(t, string(before), string(after), "Command must not modify its spec")
}

func TestValidateNamesEveryBadField(t *testing.T) {
	spec := Spec{
		Name:        "",
		UID:         "../etc",
		CPU:         CPU{Cores: 3, Sockets: 2, CoresPerSocket: 2, Model: "host"},
		MemoryBytes: 1000,
		Accelerator: "auto",
		Firmware:    Firmware{Type: "UEFI"},
		BlockDevices: []BlockDevice{
			{Path: "relative.qcow2", Format: "vmdk", BootIndex: 1},
			{Path: "/a.iso", CDROM: true, BootIndex: 1, Serial: "has space"},
		},
		NICs: []NIC{{Type: "bridge", MAC: "nope"}},
	}
	_, err := Command(spec, goldenPaths)
	require.ErrorIs(t, err, ErrInvalidSpec)
	for _, want := range []string{
		`name ""`, `uid "../etc"`, `cpu.sockets×coresPerSocket "2×2": must equal cpu.cores 3`,
		`cpu.model "host": host needs the kvm accelerator`, `memoryBytes "1000"`,
		`accelerator "auto"`, `firmware.type "UEFI"`, `blockDevices[0].path "relative.qcow2"`,
		`blockDevices[0].format "vmdk"`, `blockDevices[1].bootIndex "1": also used by blockDevices[0]`,
		`blockDevices[1].serial "has space"`, `nics[0].type "bridge"`, `nics[0].mac "nope"`,
	} {
		require.Contains(t, err.Error(), want)
	}
}

func TestCommandRejects(t *testing.T) {
	noBoot := baseSpec()
	noBoot.BlockDevices = nil
	_, err := Command(noBoot, goldenPaths)
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.Contains(t, err.Error(), "no bootable device")

	long := Paths{Dir: "/" + strings.Repeat("d", 100)}
	_, err = Command(baseSpec(), long)
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.Contains(t, err.Error(), "a unix socket path has at most 107")

	_, err = Command(baseSpec(), Paths{Dir: "relative"})
	require.ErrorIs(t, err, ErrInvalidSpec)
}

func TestDefaults(t *testing.T) {
	s := Spec{CPU: CPU{Cores: 48}, UID: "u", BlockDevices: []BlockDevice{{Path: "/a.iso", CDROM: true}, {Path: "/b"}}, NICs: []NIC{{Type: NICUser}}}
	d := s.WithDefaults()
	require.Equal(t, 4, d.CPU.Sockets)
	require.Equal(t, 12, d.CPU.CoresPerSocket)
	require.Equal(t, DefaultMachine, d.Machine)
	require.Equal(t, FirmwareBIOS, d.Firmware.Type)
	require.Equal(t, []int{1, 2}, []int{d.BlockDevices[0].BootIndex, d.BlockDevices[1].BootIndex})
	require.True(t, d.BlockDevices[0].ReadOnly)
	require.Equal(t, FormatRaw, d.BlockDevices[0].Format)
	require.Equal(t, FormatQCOW2, d.BlockDevices[1].Format)
	require.Equal(t, d.NICs[0].MAC, s.WithDefaults().NICs[0].MAC, "derived MAC is stable")
	require.Regexp(t, `^52:54:00:`, d.NICs[0].MAC)
	require.Zero(t, s.BlockDevices[0].BootIndex, "WithDefaults copies the slices")

	for cores, want := range map[int][2]int{1: {1, 1}, 16: {1, 16}, 18: {2, 9}, 64: {4, 16}, 248: {8, 31}, 33: {1, 33}} {
		so, cps := DefaultTopology(cores)
		require.Equal(t, want, [2]int{so, cps}, "cores %d", cores)
	}
}
