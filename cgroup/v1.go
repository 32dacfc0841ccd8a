package cgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Manager is the Manager on hosts with v1 hierarchies (Legacy, Hybrid).
type v1Manager struct {
	cfg     Config
	log     *slog.Logger
	hasPids bool

	mu sync.Mutex // serialises every change to groups and the shared pool
}

// unlimitedMemory: v1 reports "no limit" as a page-rounded MaxInt64.
const unlimitedMemory = 1 << 60

func newV1(cfg Config) (_ Manager, err error) {
	m := &v1Manager{cfg: cfg, log: cfg.Logger}
	for _, c := range []cgroup1.Name{cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Cpuset, cgroup1.Memory} {
		if !exists(filepath.Join(cfg.Root, string(c), "tasks")) {
			return nil, fmt.Errorf("new cgroup manager: %w: v1 controller %s not mounted at %s",
				ErrNotSupported, c, filepath.Join(cfg.Root, string(c)))
		}
	}
	m.hasPids = exists(filepath.Join(cfg.Root, "pids", "tasks"))
	rootCPUs, err := readCPUFile(filepath.Join(cfg.Root, "cpuset", "cpuset.cpus"))
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: read root cpuset: %w", err)
	}
	if m.cfg.CPUs == nil {
		m.cfg.CPUs = rootCPUs
	} else if extra := without(m.cfg.CPUs, rootCPUs); len(extra) > 0 {
		return nil, fmt.Errorf("%w: Config.CPUs %s: CPUs %s are not in the root cpuset %s", ErrInvalidSpec,
			FormatCPUList(m.cfg.CPUs), FormatCPUList(extra), FormatCPUList(rootCPUs))
	}

	// Make the parents, remembering what this call created so a failure
	// leaves the host as it was.
	var created []string
	defer func() {
		if err != nil {
			for _, d := range slices.Backward(created) {
				_ = removeDir(d)
			}
		}
	}()
	mkdir := func(dir string) error {
		if exists(dir) {
			return nil
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("new cgroup manager: %w", err)
		}
		created = append(created, dir)
		return nil
	}
	for _, c := range m.controllers() {
		if err := mkdir(m.dir(c, m.parent())); err != nil {
			return nil, err
		}
	}
	shares := strconv.FormatUint(SharesFromMilli(int64(len(m.cfg.CPUs))*1000), 10)
	if err := writeFile(filepath.Join(m.dir(cgroup1.Cpu, m.parent()), "cpu.shares"), shares); err != nil {
		return nil, err
	}
	parentCpuset := m.dir(cgroup1.Cpuset, m.parent())
	if err := m.copyMems(parentCpuset); err != nil {
		return nil, err
	}
	if cur, _ := readString(filepath.Join(parentCpuset, "cpuset.cpus")); cur != FormatCPUList(m.cfg.CPUs) {
		if err := writeFile(filepath.Join(parentCpuset, "cpuset.cpus"), FormatCPUList(m.cfg.CPUs)); err != nil {
			return nil, err
		}
	}
	shared := m.dir(cgroup1.Cpuset, m.sharedRel())
	if err := mkdir(shared); err != nil {
		return nil, err
	}
	if err := m.copyMems(shared); err != nil {
		return nil, err
	}
	if cur, _ := readString(filepath.Join(shared, "cpuset.cpus")); cur == "" {
		if err := writeFile(filepath.Join(shared, "cpuset.cpus"), FormatCPUList(m.cfg.CPUs)); err != nil {
			return nil, err
		}
	}
	if err := m.syncPool(); err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	return m, nil
}

func (m *v1Manager) Mode() Mode { return ModeV1 }

func (m *v1Manager) controllers() []cgroup1.Name {
	c := []cgroup1.Name{cgroup1.Cpu, cgroup1.Cpuacct, cgroup1.Cpuset, cgroup1.Memory}
	if m.hasPids {
		c = append(c, cgroup1.Pids)
	}
	return c
}

// hierarchy is the containerd subsystem list davit uses: only the
// controllers it manages, so a host without (say) the devices controller
// is not refused.
func (m *v1Manager) hierarchy() ([]cgroup1.Subsystem, error) {
	root := m.cfg.Root
	s := []cgroup1.Subsystem{
		cgroup1.NewCpu(root),
		cgroup1.NewCpuacct(root),
		cgroup1.NewCpuset(root),
		cgroup1.NewMemory(root, cgroup1.IgnoreModules("kmem", "kmem.tcp"), cgroup1.OptionalSwap()),
	}
	if m.hasPids {
		s = append(s, cgroup1.NewPids(root))
	}
	return s, nil
}

func (m *v1Manager) parent() string            { return "/" + m.cfg.Parent }
func (m *v1Manager) sharedRel() string         { return m.parent() + "/shared" }
func (m *v1Manager) vmRel(uid string) string   { return m.parent() + "/vm-" + uid }
func (m *v1Manager) poolRel(uid string) string { return m.sharedRel() + "/vm-" + uid }
func (m *v1Manager) dir(c cgroup1.Name, rel string) string {
	return filepath.Join(m.cfg.Root, string(c), rel)
}

// vmPath places the VM's process: its own group in every hierarchy except
// cpuset, where it sits under the shared pool.
func (m *v1Manager) vmPath(uid string) cgroup1.Path {
	return func(c cgroup1.Name) (string, error) {
		if c == cgroup1.Cpuset {
			return m.poolRel(uid), nil
		}
		return m.vmRel(uid), nil
	}
}

// vmDirs are every directory a VM may own, children before parents.
func (m *v1Manager) vmDirs(uid string) []string {
	var dirs []string
	ded := m.dir(cgroup1.Cpuset, m.vmRel(uid))
	if ents, err := os.ReadDir(ded); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(ded, e.Name()))
			}
		}
	}
	dirs = append(dirs, ded, m.dir(cgroup1.Cpuset, m.poolRel(uid)))
	for _, c := range m.controllers() {
		if c != cgroup1.Cpuset {
			dirs = append(dirs, m.dir(c, m.vmRel(uid)))
		}
	}
	return dirs
}

func (m *v1Manager) Dir(uid, controller string) string {
	if controller == string(cgroup1.Cpuset) {
		return m.dir(cgroup1.Cpuset, m.poolRel(uid))
	}
	return m.dir(cgroup1.Name(controller), m.vmRel(uid))
}

func (m *v1Manager) exists(uid string) bool {
	return exists(m.dir(cgroup1.Cpu, m.vmRel(uid)))
}

func (m *v1Manager) Create(uid string, spec Spec) (err error) {
	if err := checkUID(uid); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.vmDirs(uid) {
		if exists(d) { // including what a crash left: List shows it, Delete removes it
			return fmt.Errorf("create cgroup vm-%s: %w (%s)", uid, ErrExists, d)
		}
	}
	defer func() {
		if err != nil {
			m.cleanup(uid)
		}
	}()
	if spec.DedicatedCPUs != nil {
		if err := m.claim(uid, spec.DedicatedCPUs); err != nil {
			return err
		}
	}
	pool, err := readString(filepath.Join(m.dir(cgroup1.Cpuset, m.sharedRel()), "cpuset.cpus"))
	if err != nil {
		return fmt.Errorf("create cgroup vm-%s: read shared pool: %w", uid, err)
	}
	if _, err := cgroup1.New(m.vmPath(uid), v1Resources(spec.resources(), pool), cgroup1.WithHierarchy(m.hierarchy)); err != nil {
		return fmt.Errorf("create cgroup vm-%s: %w", uid, err)
	}
	m.log.Info("cgroup created", "uid", uid, "mode", "v1", "guaranteed_milli", spec.CPUGuaranteedMilli,
		"cores", spec.CPULimitCores, "memory", spec.MemoryBytes, "dedicated", FormatCPUList(spec.DedicatedCPUs))
	return nil
}

// claim makes the dedicated cpuset group holding cpus and takes them out of
// the shared pool.
func (m *v1Manager) claim(uid string, cpus []int) error {
	if extra := without(cpus, m.cfg.CPUs); len(extra) > 0 {
		return fmt.Errorf("%w: DedicatedCPUs %v: CPUs %s are not among the node's CPUs %s", ErrInvalidSpec,
			cpus, FormatCPUList(extra), FormatCPUList(m.cfg.CPUs))
	}
	held, err := m.dedicated()
	if err != nil {
		return err
	}
	for other, c := range held {
		if both := without(cpus, without(cpus, c)); len(both) > 0 {
			return fmt.Errorf("create cgroup vm-%s: CPUs %s: %w (vm-%s)", uid, FormatCPUList(both), ErrCPUInUse, other)
		}
	}
	if len(without(m.cfg.CPUs, cpus, allOf(held))) == 0 {
		return fmt.Errorf("create cgroup vm-%s: dedicating %s would empty the shared pool: %w",
			uid, FormatCPUList(cpus), ErrInsufficientCPUs)
	}
	dir := m.dir(cgroup1.Cpuset, m.vmRel(uid))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup vm-%s: %w", uid, err)
	}
	if err := m.copyMems(dir); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "cpuset.cpus"), FormatCPUList(cpus)); err != nil {
		return err
	}
	return m.syncPool()
}

// cleanup removes whatever exists of a VM's groups (after a failed
// Create) and restores the pool; errors are logged, the Create error wins.
func (m *v1Manager) cleanup(uid string) {
	for _, d := range m.vmDirs(uid) {
		if err := removeDir(d); err != nil {
			m.log.Warn("cgroup cleanup", "uid", uid, "err", err)
		}
	}
	if err := m.syncPool(); err != nil {
		m.log.Warn("cgroup cleanup: shared pool", "uid", uid, "err", err)
	}
}

func v1Resources(r Resources, cpus string) *specs.LinuxResources {
	cpu := &specs.LinuxCPU{Cpus: cpus}
	if r.CPUGuaranteedMilli != nil {
		s := SharesFromMilli(*r.CPUGuaranteedMilli)
		cpu.Shares = &s
	}
	if r.CPULimitCores != nil {
		q, p := quotaUs(*r.CPULimitCores), uint64(CFSPeriodUs)
		cpu.Quota, cpu.Period = &q, &p
	}
	out := &specs.LinuxResources{CPU: cpu}
	if r.MemoryBytes != nil {
		l := *r.MemoryBytes
		if l == 0 {
			l = -1 // unlimited
		}
		out.Memory = &specs.LinuxMemory{Limit: &l}
	}
	return out
}

func (m *v1Manager) load(uid string) (cgroup1.Cgroup, error) {
	if err := checkUID(uid); err != nil {
		return nil, err
	}
	if !m.exists(uid) {
		return nil, fmt.Errorf("cgroup vm-%s: %w", uid, ErrNotFound)
	}
	return cgroup1.Load(m.vmPath(uid), cgroup1.WithHierarchy(m.hierarchy))
}

func (m *v1Manager) AddProcess(uid string, pid int) error {
	cg, err := m.load(uid)
	if err != nil {
		return err
	}
	if err := cg.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add process %d to cgroup vm-%s: %w", pid, uid, err)
	}
	return nil
}

func (m *v1Manager) Update(uid string, r Resources) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.loadSpec(uid)
	if err != nil {
		return err
	}
	if err := r.Validate(cur); err != nil {
		return err
	}
	cg, err := m.load(uid)
	if err != nil {
		return err
	}
	if err := cg.Update(v1Resources(r, "")); err != nil {
		return fmt.Errorf("update cgroup vm-%s: %w", uid, err)
	}
	return nil
}

func (m *v1Manager) Delete(uid string) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dirs := m.vmDirs(uid)
	found := false
	for _, d := range dirs {
		if !exists(d) {
			continue
		}
		found = true
		tasks, err := readTasks(filepath.Join(d, "tasks"))
		if err != nil {
			return fmt.Errorf("delete cgroup vm-%s: %w", uid, err)
		}
		if len(tasks) > 0 {
			return fmt.Errorf("delete cgroup vm-%s: %w: %s holds %v", uid, ErrBusy, d, tasks)
		}
	}
	if !found {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, ErrNotFound)
	}
	var errs []error
	for _, d := range dirs {
		errs = append(errs, removeDir(d))
	}
	errs = append(errs, m.syncPool())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, err)
	}
	m.log.Info("cgroup deleted", "uid", uid, "mode", "v1")
	return nil
}

func (m *v1Manager) Load(uid string) (Spec, error) {
	if err := checkUID(uid); err != nil {
		return Spec{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadSpec(uid)
}

func (m *v1Manager) loadSpec(uid string) (Spec, error) {
	if !m.exists(uid) {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, ErrNotFound)
	}
	cpu := m.dir(cgroup1.Cpu, m.vmRel(uid))
	shares, err := readInt(filepath.Join(cpu, "cpu.shares"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	quota, err := readInt(filepath.Join(cpu, "cpu.cfs_quota_us"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	period, err := readInt(filepath.Join(cpu, "cpu.cfs_period_us"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	mem, err := readInt(filepath.Join(m.dir(cgroup1.Memory, m.vmRel(uid)), "memory.limit_in_bytes"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	if mem >= unlimitedMemory {
		mem = 0
	}
	s := Spec{
		CPUGuaranteedMilli: MilliFromShares(uint64(shares)),
		CPULimitCores:      coresFromQuota(quota, period),
		MemoryBytes:        mem,
	}
	ded, err := readCPUFile(filepath.Join(m.dir(cgroup1.Cpuset, m.vmRel(uid)), "cpuset.cpus"))
	switch {
	case err == nil:
		s.DedicatedCPUs = ded
	case !errors.Is(err, os.ErrNotExist):
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	return s, nil
}

func (m *v1Manager) List() ([]string, error) {
	var all []string
	for _, d := range []string{
		m.dir(cgroup1.Cpu, m.parent()), m.dir(cgroup1.Memory, m.parent()),
		m.dir(cgroup1.Cpuset, m.parent()), m.dir(cgroup1.Cpuset, m.sharedRel()),
	} {
		uids, err := listVMs(d, "")
		if err != nil {
			return nil, fmt.Errorf("list cgroups: %w", err)
		}
		all = append(all, uids...)
	}
	slices.Sort(all)
	return slices.Compact(all), nil
}

func (m *v1Manager) Stats(uid string) (Stats, error) {
	cg, err := m.load(uid)
	if err != nil {
		return Stats{}, err
	}
	st, err := cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup vm-%s: %w", uid, err)
	}
	var out Stats
	if c := st.GetCPU(); c != nil {
		out.UsageNs = c.GetUsage().GetTotal()
		// cpuacct.stat counts in USER_HZ ticks; containerd converts to ns.
		out.UserNs = c.GetUsage().GetUser()
		out.SystemNs = c.GetUsage().GetKernel()
		out.Periods = c.GetThrottling().GetPeriods()
		out.ThrottledPeriods = c.GetThrottling().GetThrottledPeriods()
		out.ThrottledNs = c.GetThrottling().GetThrottledTime()
	}
	if u := st.GetMemory().GetUsage(); u != nil {
		out.MemoryUsageBytes = u.GetUsage()
		if u.GetLimit() < unlimitedMemory {
			out.MemoryLimitBytes = u.GetLimit()
		}
	}
	out.Tasks = st.GetPids().GetCurrent()
	return out, nil
}

func (m *v1Manager) Move(pid int) error {
	self, err := procCgroups("self")
	if err != nil {
		return fmt.Errorf("move %d: %w", pid, err)
	}
	for _, c := range m.controllers() {
		p, ok := self[string(c)]
		if !ok {
			continue
		}
		if err := writeFile(filepath.Join(m.dir(c, p), "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("move %d: %w", pid, err)
		}
	}
	return nil
}

func (m *v1Manager) Destroy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	uids, err := m.List()
	if err != nil {
		return err
	}
	if len(uids) > 0 {
		return fmt.Errorf("destroy cgroup parent %s: %w: VM groups %v remain", m.cfg.Parent, ErrBusy, uids)
	}
	errs := []error{removeDir(m.dir(cgroup1.Cpuset, m.sharedRel()))}
	for _, c := range m.controllers() {
		errs = append(errs, removeDir(m.dir(c, m.parent())))
	}
	return errors.Join(errs...)
}
