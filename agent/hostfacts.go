package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// hostFacts is what an agent reports about its machine in its Node.
type hostFacts struct {
	CPUs          int
	MemoryBytes   int64
	KernelVersion string
	// Accelerator is "kvm" or "tcg" (DESIGN §5: KVM only where the CPU
	// shows vmx/svm and /dev/kvm opens).
	Accelerator string
	// AccelReason says why, e.g. "no vmx/svm in /proc/cpuinfo".
	AccelReason string
}

// systemReservedMemory is kept back from allocatable memory for the host.
const systemReservedMemory = 512 << 20

func readHostFacts() (hostFacts, error) {
	f := hostFacts{CPUs: runtime.NumCPU()}
	mem, err := memTotal("/proc/meminfo")
	if err != nil {
		return f, err
	}
	f.MemoryBytes = mem
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		f.KernelVersion = string(bytes.TrimRight(u.Release[:], "\x00"))
	}
	f.Accelerator, f.AccelReason = chooseAccelerator("/proc/cpuinfo", "/dev/kvm")
	return f, nil
}

func memTotal(path string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read meminfo: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal %q: %w", fields[1], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read meminfo: no MemTotal in %s", path)
}

// chooseAccelerator implements `auto`: KVM only when the CPU has hardware
// virtualization and /dev/kvm opens; TCG otherwise, with the reason.
func chooseAccelerator(cpuinfo, kvmDev string) (string, string) {
	b, err := os.ReadFile(cpuinfo)
	if err != nil {
		return "tcg", "cannot read " + cpuinfo
	}
	hw := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "flags") {
			for _, fl := range strings.Fields(line) {
				if fl == "vmx" || fl == "svm" {
					hw = true
				}
			}
			break
		}
	}
	if !hw {
		return "tcg", "no vmx/svm in " + cpuinfo + ": using TCG (software emulation)"
	}
	fh, err := os.OpenFile(kvmDev, os.O_RDWR, 0)
	if err != nil {
		return "tcg", fmt.Sprintf("%s does not open (%v): using TCG", kvmDev, err)
	}
	fh.Close()
	return "kvm", "hardware virtualization and " + kvmDev + " available"
}
