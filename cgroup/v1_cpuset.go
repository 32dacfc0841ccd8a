package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// The v1 cpuset side: the shared pool group, dedicated groups, vCPU pinning.
// v1 cpusets do not inherit: a child's cpuset.cpus must be a subset of its
// parent's when written, and a parent cannot drop a CPU a child still has.
// So the pool shrinks children first and grows parent first.

// dedicated reads every VM's dedicated CPUs from the kernel: uid → CPUs.
func (m *v1Manager) dedicated() (map[string][]int, error) {
	parent := m.dir(cgroup1.Cpuset, m.parent())
	uids, err := listVMs(parent, "")
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, uid := range uids {
		cpus, err := readCPUFile(filepath.Join(parent, "vm-"+uid, "cpuset.cpus"))
		if err != nil {
			return nil, fmt.Errorf("read dedicated CPUs of vm-%s: %w", uid, err)
		}
		out[uid] = cpus
	}
	return out, nil
}

func allOf(m map[string][]int) []int {
	var out []int
	for _, c := range m {
		out = append(out, c...)
	}
	return union(out)
}

// syncPool sets the shared pool, and every group in it, to the node's CPUs
// minus every dedicated CPU found in the kernel.
func (m *v1Manager) syncPool() error {
	held, err := m.dedicated()
	if err != nil {
		return err
	}
	want := without(m.cfg.CPUs, allOf(held))
	if len(want) == 0 {
		return fmt.Errorf("shared pool: %w: every CPU of %s is dedicated", ErrInsufficientCPUs, FormatCPUList(m.cfg.CPUs))
	}
	shared := m.dir(cgroup1.Cpuset, m.sharedRel())
	cur, err := readCPUFile(filepath.Join(shared, "cpuset.cpus"))
	if err != nil {
		return fmt.Errorf("shared pool: %w", err)
	}
	uids, err := listVMs(shared, "")
	if err != nil {
		return fmt.Errorf("shared pool: %w", err)
	}
	children := make([]string, len(uids))
	for i, uid := range uids {
		children[i] = filepath.Join(shared, "vm-"+uid)
	}
	// Shrink: children, then the pool, to what both old and new share.
	keep := without(cur, without(cur, want))
	if len(keep) == 0 {
		return fmt.Errorf("shared pool: cannot move from %s to %s in one step", FormatCPUList(cur), FormatCPUList(want))
	}
	if len(keep) < len(cur) {
		for _, d := range append(children, shared) {
			if err := writeFile(filepath.Join(d, "cpuset.cpus"), FormatCPUList(keep)); err != nil {
				return fmt.Errorf("shared pool: %w", err)
			}
		}
	}
	// Grow: the pool, then its children.
	if len(want) > len(keep) {
		for _, d := range append([]string{shared}, children...) {
			if err := writeFile(filepath.Join(d, "cpuset.cpus"), FormatCPUList(want)); err != nil {
				return fmt.Errorf("shared pool: %w", err)
			}
		}
	}
	// A child left behind by an earlier failed step.
	for _, d := range children {
		if got, err := readCPUFile(filepath.Join(d, "cpuset.cpus")); err == nil && !slices.Equal(got, want) {
			if err := writeFile(filepath.Join(d, "cpuset.cpus"), FormatCPUList(want)); err != nil {
				return fmt.Errorf("shared pool: %w", err)
			}
		}
	}
	if !slices.Equal(cur, want) {
		m.log.Info("shared pool", "cpus", FormatCPUList(want), "was", FormatCPUList(cur))
	}
	return nil
}

func (m *v1Manager) SharedPool() ([]int, error) {
	cpus, err := readCPUFile(filepath.Join(m.dir(cgroup1.Cpuset, m.sharedRel()), "cpuset.cpus"))
	if err != nil {
		return nil, fmt.Errorf("shared pool: %w", err)
	}
	return cpus, nil
}

// copyMems gives a new cpuset group its parent's memory nodes: v1 refuses
// tasks in a cpuset group until cpuset.cpus and cpuset.mems are set.
func (m *v1Manager) copyMems(dir string) error {
	if cur, err := readString(filepath.Join(dir, "cpuset.mems")); err == nil && cur != "" {
		return nil
	}
	mems, err := readString(filepath.Join(filepath.Dir(dir), "cpuset.mems"))
	if err != nil {
		return fmt.Errorf("copy cpuset.mems: %w", err)
	}
	return writeFile(filepath.Join(dir, "cpuset.mems"), mems)
}

func (m *v1Manager) PinThread(uid string, tid, cpu int) error {
	if err := checkUID(uid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.exists(uid) {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, ErrNotFound)
	}
	ded := m.dir(cgroup1.Cpuset, m.vmRel(uid))
	cpus, err := readCPUFile(filepath.Join(ded, "cpuset.cpus"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: pin thread %d of vm-%s to CPU %d: the VM has no dedicated CPUs", ErrInvalidSpec, tid, uid, cpu)
	}
	if err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	n := slices.Index(cpus, cpu)
	if n < 0 {
		return fmt.Errorf("%w: pin thread %d of vm-%s to CPU %d: not one of its CPUs %s",
			ErrInvalidSpec, tid, uid, cpu, FormatCPUList(cpus))
	}
	// Only the VM's own threads: its cpu-hierarchy group is the VM's.
	groups, err := procCgroups(strconv.Itoa(tid))
	if err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	if groups[string(cgroup1.Cpu)] != m.vmRel(uid) {
		return fmt.Errorf("pin thread %d of vm-%s: %w (it is in cpu:%s)", tid, uid, ErrNotInGroup, groups[string(cgroup1.Cpu)])
	}
	vcpu := filepath.Join(ded, "vcpu"+strconv.Itoa(n))
	if !exists(vcpu) {
		if err := os.Mkdir(vcpu, 0o755); err != nil {
			return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
		}
	}
	if err := m.copyMems(vcpu); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(vcpu, "cpuset.cpus"), strconv.Itoa(cpu)); err != nil {
		return err
	}
	tasks, err := readTasks(filepath.Join(vcpu, "tasks"))
	if err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	if slices.Contains(tasks, tid) {
		return nil
	}
	if len(tasks) > 0 {
		return fmt.Errorf("pin thread %d of vm-%s to CPU %d: %w: thread %v is pinned there", tid, uid, cpu, ErrCPUInUse, tasks)
	}
	if err := writeFile(filepath.Join(vcpu, "tasks"), strconv.Itoa(tid)); err != nil {
		return fmt.Errorf("pin thread %d of vm-%s: %w", tid, uid, err)
	}
	m.log.Info("vCPU thread pinned", "uid", uid, "tid", tid, "cpu", cpu, "group", vcpu)
	return nil
}
