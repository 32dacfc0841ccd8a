package cpuinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Host CPU features come from /proc/cpuinfo, not from executing CPUID.
//
// Why: the kernel's flag list is the feature set it has enabled, after
// errata, boot parameters and XSAVE state have removed what cannot be used,
// which is also what KVM derives its supported CPUID from. It names every
// CPUID feature word QEMU names (leaf 1, 7.0, 7.1, 0xD.1, 0x8000_0001/7/8/A,
// 0xC000_0001, ...), where github.com/klauspost/cpuid/v2 decodes a smaller,
// differently named subset and golang.org/x/sys/cpu only what Go's own
// runtime needs. The cost is Linux only, which davit is anyway. The
// MSR-based features (arch-capabilities bits such as mds-no) are not in the
// kernel's flags; they reach the facts through QEMU's host-model expansion.

// Host is what the kernel says about the host CPU.
type Host struct {
	// Vendor is the CPUID vendor string, e.g. GenuineIntel or AuthenticAMD.
	Vendor string
	// Features are the host's features named as QEMU names them, sorted.
	Features []string
}

// ReadHost reads the vendor and features of the first processor listed in
// a /proc/cpuinfo file.
func ReadHost(path string) (Host, error) {
	fh, err := os.Open(path)
	if err != nil {
		return Host{}, fmt.Errorf("read cpuinfo: %w", err)
	}
	defer fh.Close()
	vendor, flags, err := ParseCPUInfo(fh)
	if err != nil {
		return Host{}, fmt.Errorf("read cpuinfo %s: %w", path, err)
	}
	return Host{Vendor: vendor, Features: QEMUFeatures(vendor, flags)}, nil
}

// ParseCPUInfo returns the vendor_id and the flags of the first processor
// in /proc/cpuinfo text. Every processor of a host lists the same flags.
func ParseCPUInfo(r io.Reader) (vendor string, flags []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			if vendor != "" && flags != nil {
				break // end of the first processor's block
			}
			continue
		}
		switch strings.TrimSpace(key) {
		case "vendor_id":
			if vendor == "" {
				vendor = strings.TrimSpace(value)
			}
		case "flags":
			if flags == nil {
				flags = strings.Fields(value)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	if vendor == "" {
		return "", nil, fmt.Errorf("no vendor_id line: %w", ErrNoCPUInfo)
	}
	if flags == nil {
		return "", nil, fmt.Errorf("no flags line: %w", ErrNoCPUInfo)
	}
	return vendor, flags, nil
}

// QEMUFeatures maps /proc/cpuinfo flags to QEMU feature names: renamed
// where QEMU spells them differently (sse4_2 → sse4.2, lahf_lm → lahf-lm,
// ...), kept where QEMU uses the kernel's name, dropped where QEMU has no
// such feature. The vendor decides the kernel's vendor-neutral
// speculation-control flags (ibrs, ibpb, stibp, ssbd). The result is
// sorted and without duplicates.
func QEMUFeatures(vendor string, flags []string) []string {
	seen := map[string]bool{}
	for _, f := range flags {
		if name, ok := QEMUFeatureName(vendor, f); ok {
			seen[name] = true
		}
	}
	return sortedKeys(seen)
}

// QEMUFeatureName is QEMU's name for one /proc/cpuinfo flag, and false when
// QEMU has no feature for it.
func QEMUFeatureName(vendor, flag string) (string, bool) {
	if s, ok := speculationFlags[flag]; ok {
		if vendor == VendorAMD || vendor == VendorHygon {
			return s.amd, true
		}
		return s.intel, true
	}
	if name, ok := kernelToQEMU[flag]; ok {
		return name, true
	}
	if qemuFeatures[flag] {
		return flag, true
	}
	return "", false
}

// IsQEMUFeature reports whether name is a canonical QEMU x86 feature name.
func IsQEMUFeature(name string) bool { return qemuFeatures[name] }

// CommonFeatures is the intersection of feature lists, sorted: what a
// Discovery class over those nodes may enable. No list gives nil.
func CommonFeatures(lists ...[]string) []string {
	if len(lists) == 0 {
		return nil
	}
	common := setOf(lists[0]...)
	for _, l := range lists[1:] {
		have := setOf(l...)
		for f := range common {
			if !have[f] {
				delete(common, f)
			}
		}
	}
	return sortedKeys(common)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, ok := range m {
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
