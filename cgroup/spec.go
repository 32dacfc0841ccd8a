package cgroup

import (
	"errors"
	"fmt"
	"slices"
)

const (
	// CFSPeriodUs is the CFS bandwidth period davit writes (v1
	// cpu.cfs_period_us, the second field of v2 cpu.max): the kernel default.
	CFSPeriodUs = 100000

	// FixedMemoryOverhead is the part of MemoryOverhead every VM pays
	// regardless of size: the QEMU binary and its libraries, device models,
	// the QMP and console sockets and I/O buffers. Under TCG the translation
	// cache comes on top; the qemu package should bound it (tb-size) so that
	// this figure holds there too.
	FixedMemoryOverhead int64 = 128 << 20
	// PerVCPUMemoryOverhead is charged per vCPU: its thread stack and the
	// per-vCPU state of the accelerator.
	PerVCPUMemoryOverhead int64 = 8 << 20
	// PageTableDivisor: one byte of overhead per this many bytes of guest
	// memory, for the host page tables and memory maps of guest RAM
	// (KubeVirt's rule of memory/512).
	PageTableDivisor = 512

	minShares = 2
	maxShares = 262144
	minWeight = 1
	maxWeight = 10000
)

// Spec is what a VM is given. Create needs every field valid; see Validate.
type Spec struct {
	// CPUGuaranteedMilli is the guaranteed CPU in milli-CPUs: cores ×
	// coreFraction (2 cores at 25% = 500). It sets the weight.
	CPUGuaranteedMilli int64
	// CPULimitCores is the VM's cores; the CFS quota caps it at that many
	// CPUs.
	CPULimitCores int
	// MemoryBytes is the memory limit: the VM's memory plus
	// MemoryOverhead(cores, memory). 0 leaves the memory limit alone
	// (unlimited).
	MemoryBytes int64
	// DedicatedCPUs are host CPUs exclusive to this VM, from an Allocator,
	// one per vCPU: vCPU N is pinned to DedicatedCPUs[N] by PinThread. nil
	// means the VM runs on the shared pool.
	DedicatedCPUs []int
}

// Resources changes a running VM's group. As in containerd, a nil field
// leaves that setting alone. Moving a VM between the shared pool and
// dedicated CPUs is not an update: it needs a new group (a restart).
type Resources struct {
	CPUGuaranteedMilli *int64
	CPULimitCores      *int
	MemoryBytes        *int64
}

// MemoryOverhead is what a VM's QEMU process needs beyond the guest memory:
// FixedMemoryOverhead + PerVCPUMemoryOverhead × cores + memBytes /
// PageTableDivisor. A 2-core 1 GiB VM gets 128 + 16 + 2 = 146 MiB. The
// cgroup memory limit is memBytes + MemoryOverhead(cores, memBytes).
func MemoryOverhead(cores int, memBytes int64) int64 {
	return FixedMemoryOverhead + PerVCPUMemoryOverhead*int64(cores) + memBytes/PageTableDivisor
}

// Validate reports every bad field at once, each with its value, wrapped in
// ErrInvalidSpec.
func (s Spec) Validate() error {
	var errs []error
	if s.CPULimitCores < 1 {
		errs = append(errs, fmt.Errorf("CPULimitCores %d: must be at least 1", s.CPULimitCores))
	}
	if s.CPUGuaranteedMilli < 1 || s.CPUGuaranteedMilli > int64(s.CPULimitCores)*1000 {
		errs = append(errs, fmt.Errorf("CPUGuaranteedMilli %d: must be in 1..CPULimitCores×1000 (%d)",
			s.CPUGuaranteedMilli, int64(s.CPULimitCores)*1000))
	}
	if s.MemoryBytes < 0 {
		errs = append(errs, fmt.Errorf("MemoryBytes %d: must not be negative", s.MemoryBytes))
	}
	if s.DedicatedCPUs != nil {
		if len(s.DedicatedCPUs) != s.CPULimitCores {
			errs = append(errs, fmt.Errorf("DedicatedCPUs %v: need one CPU per core (%d)", s.DedicatedCPUs, s.CPULimitCores))
		}
		if s.CPUGuaranteedMilli != int64(s.CPULimitCores)*1000 {
			errs = append(errs, fmt.Errorf("CPUGuaranteedMilli %d: dedicated CPUs need coreFraction 100%% (%d)",
				s.CPUGuaranteedMilli, int64(s.CPULimitCores)*1000))
		}
		if err := checkCPUs(s.DedicatedCPUs); err != nil {
			errs = append(errs, fmt.Errorf("DedicatedCPUs %v: %w", s.DedicatedCPUs, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, errors.Join(errs...))
	}
	return nil
}

// Validate checks the fields that are set, against each other and, for the
// ones left nil, against cur (the group's current spec).
func (r Resources) Validate(cur Spec) error {
	next := cur
	r.apply(&next)
	return next.Validate()
}

func (r Resources) apply(s *Spec) {
	if r.CPUGuaranteedMilli != nil {
		s.CPUGuaranteedMilli = *r.CPUGuaranteedMilli
	}
	if r.CPULimitCores != nil {
		s.CPULimitCores = *r.CPULimitCores
	}
	if r.MemoryBytes != nil {
		s.MemoryBytes = *r.MemoryBytes
	}
}

// resources is the full Resources of a Spec, for Create.
func (s Spec) resources() Resources {
	r := Resources{CPUGuaranteedMilli: &s.CPUGuaranteedMilli, CPULimitCores: &s.CPULimitCores}
	if s.MemoryBytes > 0 {
		r.MemoryBytes = &s.MemoryBytes
	}
	return r
}

func checkCPUs(cpus []int) error {
	seen := map[int]bool{}
	for _, c := range cpus {
		if c < 0 {
			return fmt.Errorf("CPU %d is negative", c)
		}
		if seen[c] {
			return fmt.Errorf("CPU %d listed twice", c)
		}
		seen[c] = true
	}
	return nil
}

// SharesFromMilli is the v1 cpu.shares for a guaranteed CPU in milli-CPUs:
// milli × 1024 / 1000, clamped to the kernel's 2..262144.
func SharesFromMilli(milli int64) uint64 {
	return uint64(min(max(milli*1024/1000, minShares), maxShares))
}

// MilliFromShares inverts SharesFromMilli exactly for shares above the
// minimum: ceil(shares × 1000 / 1024).
func MilliFromShares(shares uint64) int64 {
	return int64((shares*1000 + 1023) / 1024)
}

// WeightFromMilli is the v2 cpu.weight for a guaranteed CPU in milli-CPUs:
// milli / 10 rounded up, clamped to 1..10000, so 1 CPU = 100 (the default
// weight) and ratios between VMs are kept exactly (coreFraction steps are
// whole percents of whole cores, so milli is a multiple of 10).
func WeightFromMilli(milli int64) uint64 {
	return uint64(min(max((milli+9)/10, minWeight), maxWeight))
}

// MilliFromWeight inverts WeightFromMilli (to the nearest 10 milli-CPUs).
func MilliFromWeight(w uint64) int64 { return int64(w) * 10 }

// quotaUs is the CFS quota capping a VM at cores CPUs.
func quotaUs(cores int) int64 { return int64(cores) * CFSPeriodUs }

// coresFromQuota reads a VM's cores back from its quota (rounded up).
func coresFromQuota(quota, period int64) int {
	if quota <= 0 || period <= 0 {
		return 0
	}
	return int((quota + period - 1) / period)
}

// without returns all minus the CPUs in drop, sorted.
func without(all []int, drop ...[]int) []int {
	var out []int
	for _, c := range all {
		keep := true
		for _, d := range drop {
			keep = keep && !slices.Contains(d, c)
		}
		if keep {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// union returns the sorted union of CPU sets.
func union(sets ...[]int) []int {
	var out []int
	for _, s := range sets {
		for _, c := range s {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}
