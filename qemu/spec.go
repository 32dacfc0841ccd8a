package qemu

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Accelerator is how QEMU runs guest code. A Spec holds a resolved one;
// ChooseAccelerator turns the setting "auto" into one of these.
type Accelerator string

// Accelerators.
const (
	AccelKVM Accelerator = "kvm"
	AccelTCG Accelerator = "tcg"
)

// FirmwareType selects the guest firmware.
type FirmwareType string

// Firmware types. BIOS is QEMU's SeaBIOS; EFI is Debian's OVMF (package
// ovmf) with a per-VM copy of the variable store.
const (
	FirmwareBIOS FirmwareType = "BIOS"
	FirmwareEFI  FirmwareType = "EFI"
)

// Block device formats.
const (
	FormatQCOW2 = "qcow2"
	FormatRaw   = "raw"
)

// NIC types.
const (
	// NICUser is QEMU's user-mode network (slirp): outbound only.
	NICUser = "user"
)

// Defaults filled in by WithDefaults.
const (
	DefaultMachine      = "q35"
	DefaultCPUModel     = "qemu64"
	DefaultOVMFCode     = "/usr/share/OVMF/OVMF_CODE.fd"
	DefaultOVMFVars     = "/usr/share/OVMF/OVMF_VARS.fd"
	DefaultNICModel     = "virtio-net-pci"
	maxCores            = 248
	maxCDROMs           = 6 // the AHCI ports of q35: ide.0 ... ide.5
	maxBlockDevices     = 32
	minMemoryBytes      = 16 << 20
	memoryGranularity   = 1 << 20
	maxNameLength       = 63
	maxUnixSocketLength = 107 // sizeof(sun_path) - 1
)

// Spec is a fully resolved VM as QEMU must run it: the "boot spec" the agent
// keeps in the VM's status, so that a restart or a migration target starts
// with exactly the same command line. It is plain data (JSON), produced by
// the agent from the VM, its class and its disks; Command turns it into an
// argv without looking at the host.
type Spec struct {
	// Name is the VM's name (QEMU -name guest=, thread names, logs).
	Name string `json:"name"`
	// UID names the VM's directory (DATA/vms/<uid>) and, when it is a UUID,
	// the guest's SMBIOS UUID.
	UID string `json:"uid"`
	// CPU is the vCPU count, topology and model.
	CPU CPU `json:"cpu"`
	// MemoryBytes is the guest RAM, a multiple of 1 MiB.
	MemoryBytes int64 `json:"memoryBytes"`
	// Machine is the QEMU machine type; default q35.
	Machine string `json:"machine,omitempty"`
	// Accelerator is kvm or tcg (already resolved, never "auto").
	Accelerator Accelerator `json:"accelerator"`
	// Firmware is BIOS (default) or EFI.
	Firmware Firmware `json:"firmware"`
	// BlockDevices are the disks, images and CD-ROMs in boot order.
	BlockDevices []BlockDevice `json:"blockDevices,omitempty"`
	// DirectBoot, when set, boots a kernel (and initrd) directly, skipping
	// the firmware's boot order.
	DirectBoot *DirectBoot `json:"directBoot,omitempty"`
	// NICs are the network cards; none means no network.
	NICs []NIC `json:"nics,omitempty"`
}

// CPU is the vCPU configuration. Sockets × CoresPerSocket = Cores; threads
// per core are always 1.
type CPU struct {
	Cores          int `json:"cores"`
	Sockets        int `json:"sockets"`
	CoresPerSocket int `json:"coresPerSocket"`
	// Model is QEMU's -cpu argument: a model and optional flags, such as
	// "Nehalem", "host" (KVM only) or "qemu64,+sse4.2". Default qemu64.
	Model string `json:"model"`
}

// Firmware selects BIOS or EFI; for EFI, Code is the read-only OVMF image
// and VarsTemplate the variable store copied once into the VM's directory.
type Firmware struct {
	Type         FirmwareType `json:"type"`
	Code         string       `json:"code,omitempty"`
	VarsTemplate string       `json:"varsTemplate,omitempty"`
}

// BlockDevice is one disk, image or CD-ROM. Disks attach read-write as
// virtio-blk, images read-only as virtio-blk, ISOs as AHCI CD-ROMs.
type BlockDevice struct {
	// Name identifies the device in logs (e.g. "vd/root"); optional.
	Name string `json:"name,omitempty"`
	// Path is the image file on this node, absolute.
	Path string `json:"path"`
	// Format is qcow2 or raw (CD-ROMs: raw).
	Format string `json:"format"`
	// ReadOnly attaches the image read-only (always true for CD-ROMs).
	ReadOnly bool `json:"readOnly,omitempty"`
	// CDROM attaches the image as a CD-ROM drive.
	CDROM bool `json:"cdrom,omitempty"`
	// BootIndex is the firmware boot priority (1 first). When no device of
	// the spec sets one, WithDefaults numbers them in list order.
	BootIndex int `json:"bootIndex,omitempty"`
	// Serial is the disk serial the guest sees (/dev/disk/by-id); optional.
	Serial string `json:"serial,omitempty"`
}

// DirectBoot boots a kernel image directly (QEMU -kernel/-initrd/-append).
type DirectBoot struct {
	Kernel string `json:"kernel"`
	Initrd string `json:"initrd,omitempty"`
	Append string `json:"append,omitempty"`
}

// NIC is one network card.
type NIC struct {
	// Type is "user" (QEMU user-mode networking).
	Type string `json:"type"`
	// MAC is the card's address; default derived from the VM's UID.
	MAC string `json:"mac,omitempty"`
	// Model is the QEMU device; default virtio-net-pci.
	Model string `json:"model,omitempty"`
}

// DefaultTopology spreads cores over sockets as the VirtualMachine API
// requires: 1 socket up to 16 cores, 2 up to 32, 4 up to 64, 8 above.
func DefaultTopology(cores int) (sockets, coresPerSocket int) {
	switch {
	case cores <= 16:
		sockets = 1
	case cores <= 32:
		sockets = 2
	case cores <= 64:
		sockets = 4
	default:
		sockets = 8
	}
	if cores%sockets != 0 {
		return 1, cores
	}
	return sockets, cores / sockets
}

// WithDefaults returns a copy of s with the empty optional fields filled
// in: machine, CPU model and topology, firmware, boot indexes, CD-ROMs
// read-only and raw, NIC models and MACs. It is pure.
func (s Spec) WithDefaults() Spec {
	if s.Machine == "" {
		s.Machine = DefaultMachine
	}
	if s.CPU.Model == "" {
		s.CPU.Model = DefaultCPUModel
	}
	if s.CPU.Sockets == 0 && s.CPU.CoresPerSocket == 0 {
		s.CPU.Sockets, s.CPU.CoresPerSocket = DefaultTopology(s.CPU.Cores)
	}
	if s.Firmware.Type == "" {
		s.Firmware.Type = FirmwareBIOS
	}
	if s.Firmware.Type == FirmwareEFI {
		if s.Firmware.Code == "" {
			s.Firmware.Code = DefaultOVMFCode
		}
		if s.Firmware.VarsTemplate == "" {
			s.Firmware.VarsTemplate = DefaultOVMFVars
		}
	}
	s.BlockDevices = append([]BlockDevice(nil), s.BlockDevices...)
	anyIndex := false
	for _, d := range s.BlockDevices {
		anyIndex = anyIndex || d.BootIndex != 0
	}
	for i := range s.BlockDevices {
		d := &s.BlockDevices[i]
		if !anyIndex {
			d.BootIndex = i + 1
		}
		if d.CDROM {
			d.ReadOnly = true
			if d.Format == "" {
				d.Format = FormatRaw
			}
		}
		if d.Format == "" {
			d.Format = FormatQCOW2
		}
	}
	s.NICs = append([]NIC(nil), s.NICs...)
	for i := range s.NICs {
		n := &s.NICs[i]
		if n.Model == "" {
			n.Model = DefaultNICModel
		}
		if n.MAC == "" {
			n.MAC = derivedMAC(s.UID, i)
		}
	}
	return s
}

var (
	uidPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	uuidPattern    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	machinePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	macPattern     = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	serialPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,20}$`)
)

// Validate checks a spec (after WithDefaults) and reports every problem at
// once, each naming the field and the value; the error wraps ErrInvalidSpec.
func (s Spec) Validate() error {
	var errs []string
	bad := func(field string, value any, why string) {
		errs = append(errs, fmt.Sprintf("%s %q: %s", field, fmt.Sprint(value), why))
	}
	if s.Name == "" || len(s.Name) > maxNameLength || strings.ContainsAny(s.Name, "\x00\n") {
		bad("name", s.Name, fmt.Sprintf("must be 1-%d characters on one line", maxNameLength))
	}
	if !uidPattern.MatchString(s.UID) {
		bad("uid", s.UID, "must be letters, digits, '.', '_' or '-'")
	}
	s.validateCPU(bad)
	if s.MemoryBytes < minMemoryBytes || s.MemoryBytes%memoryGranularity != 0 {
		bad("memoryBytes", s.MemoryBytes, "must be a multiple of 1 MiB, at least 16 MiB")
	}
	if !machinePattern.MatchString(s.Machine) {
		bad("machine", s.Machine, "is not a machine type name")
	}
	switch s.Accelerator {
	case AccelKVM, AccelTCG:
	default:
		bad("accelerator", s.Accelerator, "must be kvm or tcg (resolve auto with ChooseAccelerator)")
	}
	switch s.Firmware.Type {
	case FirmwareBIOS:
	case FirmwareEFI:
		checkPath(bad, "firmware.code", s.Firmware.Code)
		checkPath(bad, "firmware.varsTemplate", s.Firmware.VarsTemplate)
	default:
		bad("firmware.type", s.Firmware.Type, "must be BIOS or EFI")
	}
	s.validateBlockDevices(bad)
	if b := s.DirectBoot; b != nil {
		checkPath(bad, "directBoot.kernel", b.Kernel)
		if b.Initrd != "" {
			checkPath(bad, "directBoot.initrd", b.Initrd)
		}
	}
	if s.DirectBoot == nil && len(s.BlockDevices) == 0 {
		bad("blockDevices", "[]", "no bootable device (and no directBoot)")
	}
	for i, n := range s.NICs {
		f := fmt.Sprintf("nics[%d]", i)
		if n.Type != NICUser {
			bad(f+".type", n.Type, "must be user")
		}
		if !macPattern.MatchString(n.MAC) {
			bad(f+".mac", n.MAC, "must be six lowercase hex bytes separated by ':'")
		}
		if !machinePattern.MatchString(n.Model) {
			bad(f+".model", n.Model, "is not a device name")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(errs, "; "))
	}
	return nil
}

func (s Spec) validateCPU(bad func(string, any, string)) {
	c := s.CPU
	if c.Cores < 1 || c.Cores > maxCores {
		bad("cpu.cores", c.Cores, fmt.Sprintf("must be 1-%d", maxCores))
	}
	if c.Sockets < 1 || c.CoresPerSocket < 1 || c.Sockets*c.CoresPerSocket != c.Cores {
		bad("cpu.sockets×coresPerSocket", fmt.Sprintf("%d×%d", c.Sockets, c.CoresPerSocket),
			fmt.Sprintf("must equal cpu.cores %d", c.Cores))
	}
	switch model := strings.SplitN(c.Model, ",", 2)[0]; {
	case model == "" || strings.ContainsAny(c.Model, " \x00\n"):
		bad("cpu.model", c.Model, "must be a QEMU CPU model with optional ,+flag,-flag")
	case model == "host" && s.Accelerator != AccelKVM:
		bad("cpu.model", c.Model, "host needs the kvm accelerator")
	}
}

func (s Spec) validateBlockDevices(bad func(string, any, string)) {
	if len(s.BlockDevices) > maxBlockDevices {
		bad("blockDevices", len(s.BlockDevices), fmt.Sprintf("at most %d devices", maxBlockDevices))
	}
	seen := map[int]int{}
	cdroms := 0
	for i, d := range s.BlockDevices {
		f := fmt.Sprintf("blockDevices[%d]", i)
		checkPath(bad, f+".path", d.Path)
		switch d.Format {
		case FormatQCOW2, FormatRaw:
		default:
			bad(f+".format", d.Format, "must be qcow2 or raw")
		}
		if d.CDROM {
			cdroms++
			if !d.ReadOnly {
				bad(f+".readOnly", d.ReadOnly, "a CD-ROM is read-only")
			}
		}
		if d.BootIndex < 0 {
			bad(f+".bootIndex", d.BootIndex, "must not be negative")
		} else if j, dup := seen[d.BootIndex]; dup && d.BootIndex != 0 {
			bad(f+".bootIndex", d.BootIndex, fmt.Sprintf("also used by blockDevices[%d]", j))
		}
		seen[d.BootIndex] = i
		if d.Serial != "" && !serialPattern.MatchString(d.Serial) {
			bad(f+".serial", d.Serial, "must be 1-20 letters, digits, '.', '_' or '-'")
		}
	}
	if cdroms > maxCDROMs {
		bad("blockDevices", cdroms, fmt.Sprintf("at most %d CD-ROMs", maxCDROMs))
	}
}

func checkPath(bad func(string, any, string), field, p string) {
	if p == "" || !filepath.IsAbs(p) || strings.ContainsAny(p, "\x00\n") {
		bad(field, p, "must be an absolute path")
	}
}

// derivedMAC is a stable locally administered MAC (QEMU's 52:54:00 prefix)
// from the VM's UID and the NIC's index.
func derivedMAC(uid string, index int) string {
	h := uint32(2166136261) // FNV-1a
	for _, b := range []byte(fmt.Sprintf("%s/%d", uid, index)) {
		h ^= uint32(b)
		h *= 16777619
	}
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", byte(h>>16), byte(h>>8), byte(h))
}
