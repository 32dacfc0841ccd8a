package qemu

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// AccelAuto lets ChooseAccelerator decide.
const AccelAuto = "auto"

// AccelChoice is the accelerator picked for a setting, with the reason a
// node status shows ("TCG: no vmx/svm in /proc/cpuinfo", ...).
type AccelChoice struct {
	Accelerator Accelerator
	Reason      string
}

// Host is where ChooseAccelerator looks: the cpuinfo file and the KVM
// device. Tests point it at fakes.
type Host struct {
	CPUInfo   string
	KVMDevice string
}

// DefaultHost is this machine: /proc/cpuinfo and /dev/kvm.
func DefaultHost() Host { return Host{CPUInfo: "/proc/cpuinfo", KVMDevice: "/dev/kvm"} }

// ChooseAccelerator resolves a setting ("auto", "kvm", "tcg"; empty means
// auto) on this machine. See Host.ChooseAccelerator.
func ChooseAccelerator(setting string) (AccelChoice, error) {
	return DefaultHost().ChooseAccelerator(setting)
}

// ChooseAccelerator resolves a setting. auto picks KVM only when the CPU
// shows hardware virtualization (vmx or svm in cpuinfo) and the KVM device
// opens read-write; otherwise TCG, with the reason. A /dev/kvm without
// vmx/svm (software nested virtualization such as PVM) is not trusted: a
// stock guest kernel hangs there. An explicit "kvm" is honoured when the
// device opens (ErrKVMUnavailable when not); "tcg" always is.
func (h Host) ChooseAccelerator(setting string) (AccelChoice, error) {
	switch strings.ToLower(setting) {
	case "", AccelAuto:
	case string(AccelTCG):
		return AccelChoice{AccelTCG, "TCG: set explicitly"}, nil
	case string(AccelKVM):
		if err := h.openKVM(); err != nil {
			return AccelChoice{}, err
		}
		return AccelChoice{AccelKVM, "KVM: set explicitly"}, nil
	default:
		return AccelChoice{}, fmt.Errorf("choose accelerator %q: must be auto, kvm or tcg", setting)
	}
	flag, err := h.virtFlag()
	if err != nil {
		return AccelChoice{AccelTCG, "TCG: " + err.Error()}, nil
	}
	if flag == "" {
		return AccelChoice{AccelTCG, fmt.Sprintf("TCG: no vmx/svm in %s (no hardware virtualization; software emulation is slow)", h.CPUInfo)}, nil
	}
	if err := h.openKVM(); err != nil {
		return AccelChoice{AccelTCG, "TCG: " + err.Error()}, nil
	}
	return AccelChoice{AccelKVM, fmt.Sprintf("KVM: %s in %s and %s opens", flag, h.CPUInfo, h.KVMDevice)}, nil
}

// virtFlag returns "vmx" or "svm" when the first CPU's flags show one.
func (h Host) virtFlag() (string, error) {
	f, err := os.Open(h.CPUInfo)
	if err != nil {
		return "", fmt.Errorf("read cpu flags: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, fl := range strings.Fields(val) {
			if fl == "vmx" || fl == "svm" {
				return fl, nil
			}
		}
		return "", nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read cpu flags: %w", err)
	}
	return "", nil
}

func (h Host) openKVM() error {
	f, err := os.OpenFile(h.KVMDevice, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKVMUnavailable, err)
	}
	return f.Close()
}
