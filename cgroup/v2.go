package cgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/containerd/cgroups/v3/cgroup2/stats"
)

// v2Manager is the Manager on unified (cgroup v2) hosts. A dedicated VM's
// scope is a threaded-domain root: its process sits in the threaded child
// "emulator" (cpuset = shared pool) and each vCPU thread in a threaded
// child vcpu<N> (cpuset = one dedicated CPU). The vcpu groups are made by
// Create, so the kernel itself records which CPUs are whose: a VM's
// dedicated CPUs are the union of its vcpu<N>/cpuset.cpus.
//
// Not exercised on the build machines (their cgroup2 mount has no
// controllers); the tests skip there and say so.
type v2Manager struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
}

func newV2(cfg Config) (_ Manager, err error) {
	m := &v2Manager{cfg: cfg, log: cfg.Logger}
	have, err := readString(filepath.Join(cfg.Root, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w: %w", ErrNotSupported, err)
	}
	for _, c := range []string{"cpu", "cpuset", "memory", "pids"} {
		if !slices.Contains(strings.Fields(have), c) {
			return nil, fmt.Errorf("new cgroup manager: %w: v2 controller %s not available in %s (has %q)",
				ErrNotSupported, c, cfg.Root, have)
		}
	}
	rootCPUs, err := readCPUFile(filepath.Join(cfg.Root, "cpuset.cpus.effective"))
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	if m.cfg.CPUs == nil {
		m.cfg.CPUs = rootCPUs
	} else if extra := without(m.cfg.CPUs, rootCPUs); len(extra) > 0 {
		return nil, fmt.Errorf("%w: Config.CPUs %s: CPUs %s are not in %s", ErrInvalidSpec,
			FormatCPUList(m.cfg.CPUs), FormatCPUList(extra), FormatCPUList(rootCPUs))
	}
	parent := m.abs(m.parent())
	made := !exists(parent)
	weight := WeightFromMilli(int64(len(m.cfg.CPUs)) * 1000)
	_, err = cgroup2.NewManager(m.cfg.Root, m.parent(), &cgroup2.Resources{
		CPU:    &cgroup2.CPU{Weight: &weight, Cpus: FormatCPUList(m.cfg.CPUs)},
		Memory: &cgroup2.Memory{},
		Pids:   &cgroup2.Pids{},
	})
	if err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	defer func() {
		if err != nil && made {
			_ = removeDir(parent)
		}
	}()
	if err := writeFile(filepath.Join(parent, "cgroup.subtree_control"), "+cpu +cpuset +memory +pids"); err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	if err := m.syncPool(); err != nil {
		return nil, fmt.Errorf("new cgroup manager: %w", err)
	}
	return m, nil
}

func (m *v2Manager) Mode() Mode                 { return ModeV2 }
func (m *v2Manager) parent() string             { return "/" + m.cfg.Parent + ".slice" }
func (m *v2Manager) scope(uid string) string    { return m.parent() + "/vm-" + uid + ".scope" }
func (m *v2Manager) abs(rel string) string      { return filepath.Join(m.cfg.Root, rel) }
func (m *v2Manager) Dir(uid, _ string) string   { return m.abs(m.scope(uid)) }
func (m *v2Manager) emulator(uid string) string { return filepath.Join(m.Dir(uid, ""), "emulator") }
func (m *v2Manager) vcpu(uid string, n int) string {
	return filepath.Join(m.Dir(uid, ""), "vcpu"+strconv.Itoa(n))
}

func v2Resources(r Resources) *cgroup2.Resources {
	out := &cgroup2.Resources{CPU: &cgroup2.CPU{}, Pids: &cgroup2.Pids{}}
	if r.CPUGuaranteedMilli != nil {
		w := WeightFromMilli(*r.CPUGuaranteedMilli)
		out.CPU.Weight = &w
	}
	if r.CPULimitCores != nil {
		q, p := quotaUs(*r.CPULimitCores), uint64(CFSPeriodUs)
		out.CPU.Max = cgroup2.NewCPUMax(&q, &p)
	}
	if r.MemoryBytes != nil && *r.MemoryBytes > 0 {
		out.Memory = &cgroup2.Memory{Max: r.MemoryBytes}
	}
	return out
}

func (m *v2Manager) Create(uid string, spec Spec) (err error) {
	if err := checkUID(uid); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dir := m.Dir(uid, "")
	if exists(dir) {
		return fmt.Errorf("create cgroup vm-%s: %w", uid, ErrExists)
	}
	held, err := m.dedicated()
	if err != nil {
		return err
	}
	ded := union(spec.DedicatedCPUs)
	if extra := without(ded, m.cfg.CPUs); len(extra) > 0 {
		return fmt.Errorf("%w: DedicatedCPUs %v: CPUs %s are not among the node's CPUs %s", ErrInvalidSpec,
			spec.DedicatedCPUs, FormatCPUList(extra), FormatCPUList(m.cfg.CPUs))
	}
	for other, c := range held {
		if both := without(ded, without(ded, c)); len(both) > 0 {
			return fmt.Errorf("create cgroup vm-%s: CPUs %s: %w (vm-%s)", uid, FormatCPUList(both), ErrCPUInUse, other)
		}
	}
	pool := without(m.cfg.CPUs, allOf(held), ded)
	if len(pool) == 0 {
		return fmt.Errorf("create cgroup vm-%s: dedicating %s would empty the shared pool: %w", uid, FormatCPUList(ded), ErrInsufficientCPUs)
	}
	defer func() {
		if err != nil {
			m.cleanup(uid)
		}
	}()
	res := v2Resources(spec.resources())
	res.CPU.Cpus = FormatCPUList(union(pool, ded))
	if _, err := cgroup2.NewManager(m.cfg.Root, m.scope(uid), res); err != nil {
		return fmt.Errorf("create cgroup vm-%s: %w", uid, err)
	}
	if ded != nil {
		if err := m.makeThreaded(uid, pool, ded); err != nil {
			return fmt.Errorf("create cgroup vm-%s: %w", uid, err)
		}
	}
	if err := m.syncPool(); err != nil {
		return fmt.Errorf("create cgroup vm-%s: %w", uid, err)
	}
	m.log.Info("cgroup created", "uid", uid, "mode", "v2", "guaranteed_milli", spec.CPUGuaranteedMilli,
		"cores", spec.CPULimitCores, "memory", spec.MemoryBytes, "dedicated", FormatCPUList(ded))
	return nil
}

// makeThreaded turns a dedicated VM's scope into a threaded-domain root with
// an emulator group on the pool and one vcpu group per dedicated CPU.
func (m *v2Manager) makeThreaded(uid string, pool, ded []int) error {
	groups := []string{m.emulator(uid)}
	cpus := []string{FormatCPUList(pool)}
	for n, c := range ded {
		groups = append(groups, m.vcpu(uid, n))
		cpus = append(cpus, strconv.Itoa(c))
	}
	for _, g := range groups {
		if err := os.Mkdir(g, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(g, "cgroup.type"), "threaded"); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(m.Dir(uid, ""), "cgroup.subtree_control"), "+cpuset"); err != nil {
		return err
	}
	for i, g := range groups {
		if err := writeFile(filepath.Join(g, "cpuset.cpus"), cpus[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2Manager) cleanup(uid string) {
	dir := m.Dir(uid, "")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			_ = removeDir(filepath.Join(dir, e.Name()))
		}
	}
	if err := removeDir(dir); err != nil {
		m.log.Warn("cgroup cleanup", "uid", uid, "err", err)
	}
	if err := m.syncPool(); err != nil {
		m.log.Warn("cgroup cleanup: shared pool", "uid", uid, "err", err)
	}
}

// dedicated reads every VM's dedicated CPUs: uid → union of its vcpu groups.
func (m *v2Manager) dedicated() (map[string][]int, error) {
	uids, err := listVMs(m.abs(m.parent()), ".scope")
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, uid := range uids {
		c, err := m.vmDedicated(uid)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out[uid] = c
		}
	}
	return out, nil
}

func (m *v2Manager) vmDedicated(uid string) ([]int, error) {
	var out []int
	for n := 0; ; n++ {
		c, err := readCPUFile(filepath.Join(m.vcpu(uid, n), "cpuset.cpus"))
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read dedicated CPUs of vm-%s: %w", uid, err)
		}
		out = append(out, c...)
	}
}

// syncPool writes the pool into every shared scope and every dedicated
// VM's emulator group (and pool ∪ own CPUs into a dedicated scope). v2
// cpusets need no ordering: a child's effective CPUs are clipped to its
// parent's.
func (m *v2Manager) syncPool() error {
	held, err := m.dedicated()
	if err != nil {
		return err
	}
	pool := without(m.cfg.CPUs, allOf(held))
	if len(pool) == 0 {
		return fmt.Errorf("shared pool: %w: every CPU of %s is dedicated", ErrInsufficientCPUs, FormatCPUList(m.cfg.CPUs))
	}
	uids, err := listVMs(m.abs(m.parent()), ".scope")
	if err != nil {
		return err
	}
	for _, uid := range uids {
		writes := [][2]string{{m.Dir(uid, ""), FormatCPUList(union(pool, held[uid]))}}
		if held[uid] != nil {
			writes = append(writes, [2]string{m.emulator(uid), FormatCPUList(pool)})
		}
		for _, w := range writes {
			if err := writeFile(filepath.Join(w[0], "cpuset.cpus"), w[1]); err != nil {
				return fmt.Errorf("shared pool: %w", err)
			}
		}
	}
	return nil
}

func (m *v2Manager) SharedPool() ([]int, error) {
	held, err := m.dedicated()
	if err != nil {
		return nil, fmt.Errorf("shared pool: %w", err)
	}
	return without(m.cfg.CPUs, allOf(held)), nil
}

func (m *v2Manager) AddProcess(uid string, pid int) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	dir := m.Dir(uid, "")
	if !exists(dir) {
		return fmt.Errorf("add process %d to cgroup vm-%s: %w", pid, uid, ErrNotFound)
	}
	if exists(m.emulator(uid)) {
		dir = m.emulator(uid)
	}
	if err := writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("add process %d to cgroup vm-%s: %w", pid, uid, err)
	}
	return nil
}

func (m *v2Manager) PinThread(uid string, tid, cpu int) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !exists(m.Dir(uid, "")) {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, ErrNotFound)
	}
	ded, err := m.vmDedicated(uid)
	if err != nil {
		return err
	}
	n := slices.Index(ded, cpu)
	if n < 0 {
		return fmt.Errorf("%w: pin thread %d of vm-%s to CPU %d: not one of its dedicated CPUs %q",
			ErrInvalidSpec, tid, uid, cpu, FormatCPUList(ded))
	}
	groups, err := procCgroups(strconv.Itoa(tid))
	if err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	if g := groups[""]; g != m.scope(uid) && !strings.HasPrefix(g, m.scope(uid)+"/") {
		return fmt.Errorf("pin thread %d of vm-%s: %w (it is in %s)", tid, uid, ErrNotInGroup, g)
	}
	vcpu := m.vcpu(uid, n)
	threads, err := readTasks(filepath.Join(vcpu, "cgroup.threads"))
	if err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	if slices.Contains(threads, tid) {
		return nil
	}
	if len(threads) > 0 {
		return fmt.Errorf("pin thread %d of vm-%s to CPU %d: %w: thread %v is pinned there", tid, uid, cpu, ErrCPUInUse, threads)
	}
	if err := writeFile(filepath.Join(vcpu, "cgroup.threads"), strconv.Itoa(tid)); err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	m.log.Info("vCPU thread pinned", "uid", uid, "tid", tid, "cpu", cpu, "group", vcpu)
	return nil
}

func (m *v2Manager) Update(uid string, r Resources) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, err := m.loadSpec(uid)
	if err != nil {
		return err
	}
	if err := r.Validate(cur); err != nil {
		return err
	}
	cg, err := cgroup2.Load(m.scope(uid), cgroup2.WithMountpoint(m.cfg.Root))
	if err != nil {
		return fmt.Errorf("update cgroup vm-%s: %w", uid, err)
	}
	if err := cg.Update(v2Resources(r)); err != nil {
		return fmt.Errorf("update cgroup vm-%s: %w", uid, err)
	}
	if r.MemoryBytes != nil && *r.MemoryBytes == 0 {
		return writeFile(filepath.Join(m.Dir(uid, ""), "memory.max"), "max")
	}
	return nil
}

func (m *v2Manager) Delete(uid string) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	dir := m.Dir(uid, "")
	if !exists(dir) {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, ErrNotFound)
	}
	ev, err := readString(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, err)
	}
	if strings.Contains(ev, "populated 1") {
		return fmt.Errorf("delete cgroup vm-%s: %w: %s is populated", uid, ErrBusy, dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, err)
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() {
			errs = append(errs, removeDir(filepath.Join(dir, e.Name())))
		}
	}
	errs = append(errs, removeDir(dir), m.syncPool())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete cgroup vm-%s: %w", uid, err)
	}
	m.log.Info("cgroup deleted", "uid", uid, "mode", "v2")
	return nil
}

func (m *v2Manager) Load(uid string) (Spec, error) {
	if err := checkUID(uid); err != nil {
		return Spec{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loadSpec(uid)
}

func (m *v2Manager) loadSpec(uid string) (Spec, error) {
	dir := m.Dir(uid, "")
	if !exists(dir) {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, ErrNotFound)
	}
	w, err := readInt(filepath.Join(dir, "cpu.weight"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	cpuMax, err := readString(filepath.Join(dir, "cpu.max"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	var quota, period int64
	if q, p, ok := strings.Cut(cpuMax, " "); ok && q != "max" {
		quota, _ = strconv.ParseInt(q, 10, 64)
		period, _ = strconv.ParseInt(p, 10, 64)
	}
	mem, err := readInt(filepath.Join(dir, "memory.max"))
	if err != nil {
		return Spec{}, fmt.Errorf("load cgroup vm-%s: %w", uid, err)
	}
	ded, err := m.vmDedicated(uid)
	if err != nil {
		return Spec{}, err
	}
	return Spec{
		CPUGuaranteedMilli: MilliFromWeight(uint64(w)),
		CPULimitCores:      coresFromQuota(quota, period),
		MemoryBytes:        max(mem, 0),
		DedicatedCPUs:      ded,
	}, nil
}

func (m *v2Manager) List() ([]string, error) {
	uids, err := listVMs(m.abs(m.parent()), ".scope")
	if err != nil {
		return nil, fmt.Errorf("list cgroups: %w", err)
	}
	slices.Sort(uids)
	return uids, nil
}

func (m *v2Manager) Stats(uid string) (Stats, error) {
	if err := checkUID(uid); err != nil {
		return Stats{}, err
	}
	if !exists(m.Dir(uid, "")) {
		return Stats{}, fmt.Errorf("stats of cgroup vm-%s: %w", uid, ErrNotFound)
	}
	cg, err := cgroup2.Load(m.scope(uid), cgroup2.WithMountpoint(m.cfg.Root))
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup vm-%s: %w", uid, err)
	}
	st, err := cg.StatFiltered(cgroup2.StatCPU | cgroup2.StatMemory | cgroup2.StatPids | cgroup2.StatIO)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of cgroup vm-%s: %w", uid, err)
	}
	out := Stats{
		UsageNs:          st.GetCPU().GetUsageUsec() * 1000,
		UserNs:           st.GetCPU().GetUserUsec() * 1000,
		SystemNs:         st.GetCPU().GetSystemUsec() * 1000,
		Periods:          st.GetCPU().GetNrPeriods(),
		ThrottledPeriods: st.GetCPU().GetNrThrottled(),
		ThrottledNs:      st.GetCPU().GetThrottledUsec() * 1000,
		MemoryUsageBytes: st.GetMemory().GetUsage(),
		Tasks:            st.GetPids().GetCurrent(),
		CPUPressure:      pressure(st.GetCPU().GetPSI()),
		MemoryPressure:   pressure(st.GetMemory().GetPSI()),
		IOPressure:       pressure(st.GetIo().GetPSI()),
	}
	if l := st.GetMemory().GetUsageLimit(); l < unlimitedMemory {
		out.MemoryLimitBytes = l
	}
	return out, nil
}

func pressure(p *stats.PSIStats) *Pressure {
	if p == nil {
		return nil
	}
	line := func(d *stats.PSIData) PressureLine {
		return PressureLine{Avg10: d.GetAvg10(), Avg60: d.GetAvg60(), Avg300: d.GetAvg300(), TotalUs: d.GetTotal()}
	}
	return &Pressure{Some: line(p.GetSome()), Full: line(p.GetFull())}
}

func (m *v2Manager) Move(pid int) error {
	self, err := procCgroups("self")
	if err != nil {
		return fmt.Errorf("move %d: %w", pid, err)
	}
	if err := writeFile(filepath.Join(m.cfg.Root, self[""], "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("move %d: %w", pid, err)
	}
	return nil
}

func (m *v2Manager) Destroy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	uids, err := m.List()
	if err != nil {
		return err
	}
	if len(uids) > 0 {
		return fmt.Errorf("destroy cgroup parent %s: %w: VM groups %v remain", m.cfg.Parent, ErrBusy, uids)
	}
	return removeDir(m.abs(m.parent()))
}
