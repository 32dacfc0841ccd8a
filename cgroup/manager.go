package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	cgroups "github.com/containerd/cgroups/v3"
)

// Mode selects the cgroup implementation.
type Mode int

const (
	// ModeAuto asks containerd/cgroups: v1 on Legacy and Hybrid hosts, v2 on
	// Unified ones.
	ModeAuto Mode = iota
	// ModeV1 uses the per-controller v1 hierarchies under Config.Root.
	ModeV1
	// ModeV2 uses the unified hierarchy at Config.Root.
	ModeV2
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeV1:
		return "v1"
	case ModeV2:
		return "v2"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// Config configures a Manager.
type Config struct {
	// Root is where cgroupfs is mounted: v1 hierarchies are Root/<controller>,
	// the v2 hierarchy is Root itself (the cgroup2 mount point; running
	// inside a subtree systemd delegated to the agent is not supported yet).
	Root string
	// Parent names davit's group: "/<Parent>" in each v1 hierarchy,
	// "<Parent>.slice" on v2. One path element. Tests and benchmarks use
	// their own so they never touch a running agent's VMs.
	Parent string
	// Mode picks v1 or v2; ModeAuto detects.
	Mode Mode
	// CPUs are the host CPUs VMs may use: the parent cpuset, and the shared
	// pool before any CPU is dedicated. nil means the root cpuset's CPUs.
	CPUs []int
	// Logger receives one line per group created, deleted or pinned.
	Logger *slog.Logger
}

// DefaultConfig is the agent's configuration: /sys/fs/cgroup, parent
// "davit", mode detected, every CPU.
func DefaultConfig() Config {
	return Config{Root: "/sys/fs/cgroup", Parent: "davit", Mode: ModeAuto}
}

// Manager manages the VM groups under one davit parent. Every method takes
// the VM's uid; the group's paths follow from it (see the package doc), so
// a Manager created after an agent restart manages the groups an earlier one
// made. Safe for concurrent use.
type Manager interface {
	// Mode is the implementation in use, ModeV1 or ModeV2.
	Mode() Mode
	// Create makes the VM's group with spec applied. With DedicatedCPUs the
	// CPUs leave the shared pool first; they must be some of Config.CPUs and
	// no other VM's (ErrCPUInUse). A group left half-made by a failure is
	// removed again. An existing group is ErrExists.
	Create(uid string, spec Spec) error
	// AddProcess moves every thread of pid into the VM's group: for a
	// dedicated VM that is the shared pool, until PinThread moves the vCPU
	// threads out. Call it before PinThread (it would undo the pinning).
	AddProcess(uid string, pid int) error
	// PinThread moves one thread of the VM's process (a QEMU vCPU thread,
	// its TID from QMP query-cpus-fast) into its own cpuset group limited to
	// cpu, one of the VM's DedicatedCPUs; the group is vcpu<N> where N is
	// cpu's position in the sorted DedicatedCPUs, so with CPUs from Allocate
	// vCPU N goes to DedicatedCPUs[N]. The VM's other threads stay in the
	// shared pool. Pinning the same TID again is a no-op; a different live
	// thread already pinned there is ErrCPUInUse; a thread outside the VM's
	// group is ErrNotInGroup.
	PinThread(uid string, tid, cpu int) error
	// Update changes the settings that are non-nil in r.
	Update(uid string, r Resources) error
	// Delete removes the VM's group(s). It refuses with ErrBusy, naming the
	// tasks, while any task remains: stop and reap the VM's process first
	// (a reaped process has left its groups), or Move it out. Dedicated CPUs
	// return to the shared pool; the caller then releases them from the
	// Allocator.
	Delete(uid string) error
	// Load re-adopts an existing group after an agent restart: it returns
	// the Spec read back from the kernel's files (ErrNotFound if there is no
	// group). CPUGuaranteedMilli is exact on v1 (shares above the minimum of
	// 2) and to 10 milli-CPUs on v2.
	Load(uid string) (Spec, error)
	// List returns the uids of every VM group under the parent, including
	// groups a crash left half-made, so they can be deleted.
	List() ([]string, error)
	// Stats reads the VM's usage, throttling, memory and (v2) pressure.
	Stats(uid string) (Stats, error)
	// SharedPool returns the CPUs of the shared pool: Config.CPUs minus
	// every VM's dedicated CPUs.
	SharedPool() ([]int, error)
	// Move moves every thread of pid out of davit's groups into the groups
	// of the calling process (the agent's own), e.g. to empty a VM group
	// without killing its process.
	Move(pid int) error
	// Dir is the absolute directory of the VM's group in a v1 controller's
	// hierarchy ("cpu", "cpuset", ...); on v2 the controller is ignored.
	Dir(uid, controller string) string
	// Destroy removes the davit parent groups; ErrBusy while VM groups
	// remain. For tests, benchmarks and uninstall: the agent keeps them.
	Destroy() error
}

// Stats are one VM's cumulative counters and current usage.
type Stats struct {
	// UsageNs is the CPU time used by the VM's tasks (v1 cpuacct.usage,
	// v2 cpu.stat usage_usec × 1000).
	UsageNs  uint64
	UserNs   uint64
	SystemNs uint64
	// Periods, ThrottledPeriods and ThrottledNs are the CFS bandwidth
	// counters: nr_periods, nr_throttled, throttled_time (v2 throttled_usec).
	Periods          uint64
	ThrottledPeriods uint64
	ThrottledNs      uint64
	// MemoryUsageBytes and MemoryLimitBytes: current charge and limit (the
	// limit is 0 when unlimited).
	MemoryUsageBytes uint64
	MemoryLimitBytes uint64
	// Tasks counts the VM's threads (pids.current), 0 without the pids
	// controller.
	Tasks uint64
	// CPUPressure, MemoryPressure and IOPressure are the cgroup's PSI
	// (cpu.pressure, ...). Only v2 has per-cgroup PSI: nil on v1.
	CPUPressure    *Pressure
	MemoryPressure *Pressure
	IOPressure     *Pressure
}

// Pressure is one PSI file: the share of time some or all tasks stalled.
type Pressure struct {
	Some PressureLine
	Full PressureLine
}

// PressureLine holds the averages (percent) over 10, 60 and 300 s and the
// total stall time in microseconds.
type PressureLine struct {
	Avg10, Avg60, Avg300 float64
	TotalUs              uint64
}

// New returns the Manager for cfg's mode and makes sure the davit parent
// groups exist (creating them if needed, and removing what it created if a
// later step fails). It also brings the shared pool in line with the
// dedicated groups found, so a restart heals a crash between steps.
func New(cfg Config) (Manager, error) {
	if cfg.Root == "" {
		cfg.Root = "/sys/fs/cgroup"
	}
	if cfg.Parent == "" {
		cfg.Parent = "davit"
	}
	if err := checkName("Parent", cfg.Parent); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.CPUs != nil {
		if err := checkCPUs(cfg.CPUs); err != nil || len(cfg.CPUs) == 0 {
			return nil, fmt.Errorf("%w: Config.CPUs %v: %v", ErrInvalidSpec, cfg.CPUs, err)
		}
		cfg.CPUs = union(cfg.CPUs)
	}
	mode := cfg.Mode
	if mode == ModeAuto {
		switch cgroups.Mode() {
		case cgroups.Legacy, cgroups.Hybrid:
			mode = ModeV1
		case cgroups.Unified:
			mode = ModeV2
		default:
			return nil, fmt.Errorf("new cgroup manager: %w: no cgroup filesystem at /sys/fs/cgroup", ErrNotSupported)
		}
	}
	cfg.Mode = mode
	switch mode {
	case ModeV1:
		return newV1(cfg)
	case ModeV2:
		return newV2(cfg)
	}
	return nil, fmt.Errorf("%w: Config.Mode %v", ErrInvalidSpec, cfg.Mode)
}

// checkUID accepts a VM uid that is a single, plain path element.
func checkUID(uid string) error { return checkName("uid", uid) }

func checkName(field, s string) error {
	if s == "" || s == "." || s == ".." || len(s) > 128 {
		return fmt.Errorf("%w: %s %q", ErrInvalidSpec, field, s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%w: %s %q: only letters, digits, '-', '_' and '.'", ErrInvalidSpec, field, s)
		}
	}
	return nil
}

func readString(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func readInt(path string) (int64, error) {
	s, err := readString(path)
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

func readCPUFile(path string) ([]int, error) {
	s, err := readString(path)
	if err != nil {
		return nil, err
	}
	return ParseCPUList(s)
}

// writeFile writes one cgroup control file; the error names the file.
func writeFile(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

// readTasks reads a tasks / cgroup.procs / cgroup.threads file.
func readTasks(path string) ([]int, error) {
	s, err := readString(path)
	if err != nil {
		return nil, err
	}
	var out []int
	for f := range strings.FieldsSeq(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// listVMs returns the uids of the vm-<uid> directories in dir.
func listVMs(dir, suffix string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		name, ok := strings.CutPrefix(e.Name(), "vm-")
		if name, ok2 := strings.CutSuffix(name, suffix); ok && ok2 && name != "" {
			out = append(out, name)
		}
	}
	return out, nil
}

// procCgroups parses /proc/<pid>/cgroup into controller → path; the v2
// entry is under "". Combined v1 mounts ("cpu,cpuacct") list each name.
func procCgroups(pid string) (map[string]string, error) {
	f, err := os.Open(filepath.Join("/proc", pid, "cgroup"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, sc.Err()
}

// removeDir removes an empty cgroup directory; a missing one is fine.
func removeDir(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
