package qemu

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultBinary is the QEMU system emulator davit runs.
const DefaultBinary = "qemu-system-x86_64"

// File names inside a VM's directory (DATA/vms/<uid>/).
const (
	SpecFileName    = "spec.json"
	QMPSocketName   = "qmp.sock"
	ConsoleName     = "console.sock"
	PIDFileName     = "qemu.pid"
	LogFileName     = "qemu.log"
	EFIVarsFileName = "OVMF_VARS.fd"
)

// Paths are where one VM's QEMU finds and puts its files on this node.
type Paths struct {
	// Dir is the VM's directory, DATA/vms/<uid>; absolute.
	Dir string `json:"dir"`
	// Binary is the QEMU executable; default qemu-system-x86_64 (on PATH).
	Binary string `json:"binary,omitempty"`
}

// PathsFor returns the Paths of VM uid under dataDir (DATA/vms/<uid>).
func PathsFor(dataDir, uid string) Paths {
	return Paths{Dir: filepath.Join(dataDir, "vms", uid)}
}

// QMPSocket is the QMP unix socket.
func (p Paths) QMPSocket() string { return filepath.Join(p.Dir, QMPSocketName) }

// ConsoleSocket is the serial console unix socket.
func (p Paths) ConsoleSocket() string { return filepath.Join(p.Dir, ConsoleName) }

// PIDFile is QEMU's pidfile.
func (p Paths) PIDFile() string { return filepath.Join(p.Dir, PIDFileName) }

// LogFile receives QEMU's stdout and stderr.
func (p Paths) LogFile() string { return filepath.Join(p.Dir, LogFileName) }

// SpecFile holds the boot spec (JSON) QEMU was started from.
func (p Paths) SpecFile() string { return filepath.Join(p.Dir, SpecFileName) }

// EFIVars is the VM's own OVMF variable store (EFI only).
func (p Paths) EFIVars() string { return filepath.Join(p.Dir, EFIVarsFileName) }

func (p Paths) binary() string {
	if p.Binary == "" {
		return DefaultBinary
	}
	return p.Binary
}

func (p Paths) validate() error {
	if p.Dir == "" || !filepath.IsAbs(p.Dir) {
		return fmt.Errorf("%w: paths.dir %q: must be an absolute path", ErrInvalidSpec, p.Dir)
	}
	for _, s := range []string{p.QMPSocket(), p.ConsoleSocket()} {
		if len(s) > maxUnixSocketLength {
			return fmt.Errorf("%w: socket path %q: %d bytes, a unix socket path has at most %d",
				ErrInvalidSpec, s, len(s), maxUnixSocketLength)
		}
	}
	return nil
}

// PlanStep is one QMP command Start runs after QEMU answers on QMP (and
// after placement), in order.
type PlanStep struct {
	Execute   string         `json:"execute"`
	Arguments map[string]any `json:"arguments,omitempty"`
}

// Command returns QEMU's argv (argv[0] is the binary) for spec in paths.
// It is pure: it validates, applies WithDefaults and formats, and touches
// nothing. QEMU starts with its vCPUs stopped (-S) so that placement into
// cgroups happens before the guest runs; Plan's "cont" starts them.
func Command(spec Spec, paths Paths) ([]string, error) {
	s := spec.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := paths.validate(); err != nil {
		return nil, err
	}
	a := []string{paths.binary(),
		"-name", "guest=" + esc(s.Name) + ",debug-threads=on",
	}
	if uuidPattern.MatchString(s.UID) {
		a = append(a, "-uuid", s.UID)
	}
	a = append(a,
		"-nodefaults", "-no-user-config", "-display", "none",
		"-S",
		"-machine", machineArg(s),
		"-accel", string(s.Accelerator),
		"-cpu", s.CPU.Model,
		"-smp", fmt.Sprintf("%d,sockets=%d,cores=%d,threads=1", s.CPU.Cores, s.CPU.Sockets, s.CPU.CoresPerSocket),
		"-m", fmt.Sprintf("%dM", s.MemoryBytes>>20),
	)
	if s.Firmware.Type == FirmwareEFI {
		a = append(a,
			"-blockdev", "driver=file,node-name=fw-code,filename="+esc(s.Firmware.Code)+",read-only=on",
			"-blockdev", "driver=file,node-name=fw-vars,filename="+esc(paths.EFIVars()),
		)
	}
	if b := s.DirectBoot; b != nil {
		a = append(a, "-kernel", b.Kernel)
		if b.Initrd != "" {
			a = append(a, "-initrd", b.Initrd)
		}
		if b.Append != "" {
			a = append(a, "-append", b.Append)
		}
	}
	a = append(a, blockDeviceArgs(s.BlockDevices)...)
	for i, n := range s.NICs {
		a = append(a,
			"-netdev", fmt.Sprintf("user,id=net%d", i),
			"-device", fmt.Sprintf("%s,id=nic%d,netdev=net%d,mac=%s", n.Model, i, i, n.MAC),
		)
	}
	a = append(a,
		"-qmp", "unix:"+esc(paths.QMPSocket())+",server=on,wait=off",
		"-chardev", "socket,id=serial0,path="+esc(paths.ConsoleSocket())+",server=on,wait=off",
		"-serial", "chardev:serial0",
		"-pidfile", paths.PIDFile(),
		"-msg", "timestamp=on",
	)
	return a, nil
}

// Plan returns the QMP commands Start runs once QEMU answers: for now only
// "cont", which starts the vCPUs (QEMU was started with -S). A migration
// target will get a different plan (incoming migration instead of cont).
func Plan(spec Spec) []PlanStep {
	return []PlanStep{{Execute: "cont"}}
}

func machineArg(s Spec) string {
	m := "type=" + s.Machine
	if s.Firmware.Type == FirmwareEFI {
		m += ",pflash0=fw-code,pflash1=fw-vars"
	}
	return m
}

// blockDeviceArgs attaches each device as a file node, a format node and a
// front end: virtio-blk for disks and images, ide-cd on the q35 AHCI ports
// for CD-ROMs. Read-only is set on both nodes so QEMU takes a shared lock.
func blockDeviceArgs(devs []BlockDevice) []string {
	var a []string
	cd := 0
	for i, d := range devs {
		ro := ""
		if d.ReadOnly {
			ro = ",read-only=on"
		}
		a = append(a,
			"-blockdev", fmt.Sprintf("driver=file,node-name=drive%d-file,filename=%s%s", i, esc(d.Path), ro),
			"-blockdev", fmt.Sprintf("driver=%s,node-name=drive%d,file=drive%d-file%s", d.Format, i, i, ro),
		)
		var dev string
		if d.CDROM {
			dev = fmt.Sprintf("ide-cd,id=disk%d,drive=drive%d,bus=ide.%d", i, i, cd)
			cd++
		} else {
			dev = fmt.Sprintf("virtio-blk-pci,id=disk%d,drive=drive%d", i, i)
		}
		if d.BootIndex > 0 {
			dev += fmt.Sprintf(",bootindex=%d", d.BootIndex)
		}
		if d.Serial != "" {
			dev += ",serial=" + d.Serial
		}
		a = append(a, "-device", dev)
	}
	return a
}

// esc escapes a value for QEMU's key=value option syntax, where a comma
// is written as two.
func esc(v string) string { return strings.ReplaceAll(v, ",", ",,") }
