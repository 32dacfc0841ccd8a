package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run on the real cgroupfs of the machine (root, v1 on the
// build machines) and read the kernel's files back.

func TestCreateReadsBack(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	spec := Spec{CPUGuaranteedMilli: 500, CPULimitCores: 2, MemoryBytes: 256 << 20}
	require.NoError(t, m.Create("a", spec))
	assert.ErrorIs(t, m.Create("a", spec), ErrExists)

	pool, err := m.SharedPool()
	require.NoError(t, err)
	switch m.Mode() {
	case ModeV1:
		assert.Equal(t, "512", cgroupFile(t, m, "a", "cpu", "cpu.shares"))
		assert.Equal(t, "200000", cgroupFile(t, m, "a", "cpu", "cpu.cfs_quota_us"))
		assert.Equal(t, "100000", cgroupFile(t, m, "a", "cpu", "cpu.cfs_period_us"))
		assert.Equal(t, strconv.Itoa(256<<20), cgroupFile(t, m, "a", "memory", "memory.limit_in_bytes"))
		assert.Equal(t, FormatCPUList(pool), cgroupFile(t, m, "a", "cpuset", "cpuset.cpus"))
		assert.NotEmpty(t, cgroupFile(t, m, "a", "cpuset", "cpuset.mems"))
	case ModeV2:
		assert.Equal(t, "50", cgroupFile(t, m, "a", "", "cpu.weight"))
		assert.Equal(t, "200000 100000", cgroupFile(t, m, "a", "", "cpu.max"))
		assert.Equal(t, strconv.Itoa(256<<20), cgroupFile(t, m, "a", "", "memory.max"))
		assert.Equal(t, FormatCPUList(pool), cgroupFile(t, m, "a", "", "cpuset.cpus"))
	}

	// Update: nil leaves alone, set fields change.
	milli, mem := int64(1500), int64(512<<20)
	require.NoError(t, m.Update("a", Resources{CPUGuaranteedMilli: &milli, MemoryBytes: &mem}))
	got, err := m.Load("a")
	require.NoError(t, err)
	assert.Equal(t, Spec{CPUGuaranteedMilli: 1500, CPULimitCores: 2, MemoryBytes: 512 << 20}, got)
	three := int64(3000)
	assert.ErrorIs(t, m.Update("a", Resources{CPUGuaranteedMilli: &three}), ErrInvalidSpec, "3 CPUs guaranteed on 2 cores")
	assert.ErrorIs(t, m.Create("b", Spec{}), ErrInvalidSpec)
	assert.ErrorIs(t, m.Create("../x", spec), ErrInvalidSpec)
}

func TestAddProcessAndDelete(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	require.NoError(t, m.Create("a", Spec{CPUGuaranteedMilli: 250, CPULimitCores: 1, MemoryBytes: 64 << 20}))
	sleep := startProcess(t, "sleep", "60")
	pid := sleep.Process.Pid
	require.NoError(t, m.AddProcess("a", pid))
	assert.ErrorIs(t, m.AddProcess("nope", pid), ErrNotFound)

	controllers := []string{""}
	if m.Mode() == ModeV1 {
		controllers = []string{"cpu", "cpuacct", "cpuset", "memory", "pids"}
	}
	for _, c := range controllers {
		dir := m.Dir("a", c)
		if c == "pids" && !exists(dir) {
			continue
		}
		assert.True(t, pidInGroup(t, dir, pid), "pid %d in %s/cgroup.procs", pid, dir)
		assert.Contains(t, tasksOf(t, dir), pid, "pid %d in %s tasks", pid, dir)
	}

	err := m.Delete("a")
	assert.ErrorIs(t, err, ErrBusy, "a group with a live task is not deleted")
	assert.Contains(t, err.Error(), strconv.Itoa(pid))
	kill(sleep)
	require.NoError(t, m.Delete("a"))
	for _, c := range controllers {
		assert.NoDirExists(t, m.Dir("a", c))
	}
	assert.ErrorIs(t, m.Delete("a"), ErrNotFound)
	uids, err := m.List()
	require.NoError(t, err)
	assert.Empty(t, uids)
}

func TestMoveEmptiesGroup(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	require.NoError(t, m.Create("a", Spec{CPUGuaranteedMilli: 250, CPULimitCores: 1}))
	sleep := startProcess(t, "sleep", "60")
	require.NoError(t, m.AddProcess("a", sleep.Process.Pid))
	require.NoError(t, m.Move(sleep.Process.Pid))
	require.NoError(t, m.Delete("a"), "the process left, so the group goes")
}

func TestLoadAfterRestart(t *testing.T) {
	cfg := DefaultConfig()
	m := newTestManager(t, cfg)
	spec := Spec{CPUGuaranteedMilli: 330, CPULimitCores: 3, MemoryBytes: MemoryOverhead(3, 1<<30) + 1<<30}
	require.NoError(t, m.Create("a", spec))
	require.NoError(t, m.Create("b", Spec{CPUGuaranteedMilli: 100, CPULimitCores: 1}))
	sleep := startProcess(t, "sleep", "60")
	require.NoError(t, m.AddProcess("a", sleep.Process.Pid))

	// A new Manager on the same parent: the agent after a restart.
	cfg.Parent = parentOf(t, m)
	m2, err := New(cfg)
	require.NoError(t, err)
	uids, err := m2.List()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, uids)
	got, err := m2.Load("a")
	require.NoError(t, err)
	want := spec
	if m.Mode() == ModeV1 {
		// v1 rounds memory.limit_in_bytes down to a page.
		want.MemoryBytes = spec.MemoryBytes &^ int64(os.Getpagesize()-1)
	}
	assert.Equal(t, want, got)
	st, err := m2.Stats("a")
	require.NoError(t, err)
	assert.EqualValues(t, want.MemoryBytes, st.MemoryLimitBytes)
	_, err = m2.Load("zzz")
	assert.ErrorIs(t, err, ErrNotFound)
	kill(sleep)
}

func TestStatsThrottling(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	// Two busy processes capped at one core: the quota must throttle them.
	require.NoError(t, m.Create("a", Spec{CPUGuaranteedMilli: 200, CPULimitCores: 1, MemoryBytes: 64 << 20}))
	for range 2 {
		busy := startProcess(t, "sh", "-c", "while :; do :; done")
		require.NoError(t, m.AddProcess("a", busy.Process.Pid))
	}
	before, err := m.Stats("a")
	require.NoError(t, err)
	start := time.Now()
	time.Sleep(2 * time.Second)
	after, err := m.Stats("a")
	require.NoError(t, err)
	cpus := float64(after.UsageNs-before.UsageNs) / float64(time.Since(start).Nanoseconds())
	t.Logf("2 busy loops under a 1-core quota used %.2f CPUs; periods %d, throttled %d (%v)",
		cpus, after.Periods, after.ThrottledPeriods, time.Duration(after.ThrottledNs))
	assert.Less(t, cpus, 1.1, "the quota caps the group at one CPU")
	assert.Greater(t, after.Periods, uint64(0))
	assert.Greater(t, after.ThrottledPeriods, uint64(0))
	assert.Greater(t, after.ThrottledNs, uint64(0))
	// MemoryUsageBytes may be 0 here: v1 leaves a moved process's earlier
	// charges behind, and a busy loop allocates nothing new.
	assert.EqualValues(t, 64<<20, after.MemoryLimitBytes)
	if m.Mode() == ModeV1 {
		assert.Nil(t, after.CPUPressure, "v1 has no per-cgroup PSI")
	} else {
		assert.NotNil(t, after.CPUPressure)
	}
}

func TestSharedPoolExcludesDedicated(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	all, err := m.SharedPool()
	require.NoError(t, err)
	if len(all) < 2 {
		t.Skipf("needs 2 CPUs, the shared pool has %s", FormatCPUList(all))
	}
	alloc, err := NewAllocator(filepath.Join(t.TempDir(), "cpus.json"), all, all[:1])
	require.NoError(t, err)
	ded, err := alloc.Allocate("d", 1)
	require.NoError(t, err)
	require.Equal(t, all[1:2], ded)

	require.NoError(t, m.Create("s1", Spec{CPUGuaranteedMilli: 500, CPULimitCores: 2}))
	require.NoError(t, m.Create("d", Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, DedicatedCPUs: ded}))
	require.NoError(t, m.Create("s2", Spec{CPUGuaranteedMilli: 500, CPULimitCores: 1}))
	pool, err := m.SharedPool()
	require.NoError(t, err)
	assert.Equal(t, alloc.SharedPool(), pool)
	assert.NotContains(t, pool, ded[0])
	for _, uid := range []string{"s1", "s2"} {
		assert.Equal(t, FormatCPUList(pool), cgroupFile(t, m, uid, "cpuset", "cpuset.cpus"), uid)
	}
	got, err := m.Load("d")
	require.NoError(t, err)
	assert.Equal(t, ded, got.DedicatedCPUs)

	// The kernel-side record refuses a second owner and an empty pool.
	err = m.Create("x", Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, DedicatedCPUs: ded})
	assert.ErrorIs(t, err, ErrCPUInUse)
	err = m.Create("y", Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, DedicatedCPUs: all[:1]})
	assert.ErrorIs(t, err, ErrInsufficientCPUs)
	uids, err := m.List()
	require.NoError(t, err)
	assert.Equal(t, []string{"d", "s1", "s2"}, uids, "failed creates leave nothing behind")

	// Deleting the dedicated VM gives its CPU back to every shared VM.
	require.NoError(t, m.Delete("d"))
	require.NoError(t, alloc.Release("d"))
	pool, err = m.SharedPool()
	require.NoError(t, err)
	assert.Equal(t, all, pool)
	for _, uid := range []string{"s1", "s2"} {
		assert.Equal(t, FormatCPUList(all), cgroupFile(t, m, uid, "cpuset", "cpuset.cpus"), uid)
	}
}

func TestPinThread(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	all, err := m.SharedPool()
	require.NoError(t, err)
	if len(all) < 2 {
		t.Skipf("needs 2 CPUs, the shared pool has %s", FormatCPUList(all))
	}
	cpu := all[len(all)-1]
	require.NoError(t, m.Create("d", Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, DedicatedCPUs: []int{cpu}}))
	require.NoError(t, m.Create("s", Spec{CPUGuaranteedMilli: 500, CPULimitCores: 1}))
	pid, tids := startThreads(t)
	require.NoError(t, m.AddProcess("d", pid))

	assert.ErrorIs(t, m.PinThread("d", tids[0], all[0]), ErrInvalidSpec, "not one of the VM's CPUs")
	assert.ErrorIs(t, m.PinThread("s", tids[0], cpu), ErrInvalidSpec, "a shared VM has no dedicated CPUs")
	assert.ErrorIs(t, m.PinThread("d", os.Getpid(), cpu), ErrNotInGroup, "a thread of another process")
	require.NoError(t, m.PinThread("d", tids[0], cpu))
	require.NoError(t, m.PinThread("d", tids[0], cpu), "pinning again is a no-op")
	assert.ErrorIs(t, m.PinThread("d", tids[1], cpu), ErrCPUInUse, "one thread per dedicated CPU")

	got, err := ReadCPUsAllowed(tids[0])
	require.NoError(t, err)
	assert.Equal(t, []int{cpu}, got, "the pinned thread runs only on its CPU")
	threads, err := Threads(pid)
	require.NoError(t, err)
	for _, tid := range threads {
		if tid == tids[0] {
			continue
		}
		allowed, err := ReadCPUsAllowed(tid)
		require.NoError(t, err)
		assert.NotContains(t, allowed, cpu, "thread %d of the VM stays on the shared pool", tid)
	}
	if m.Mode() == ModeV1 {
		vcpu := filepath.Join("/sys/fs/cgroup/cpuset", parentOf(t, m), "vm-d", "vcpu0")
		assert.Equal(t, strconv.Itoa(cpu), mustRead(t, filepath.Join(vcpu, "cpuset.cpus")))
		assert.Equal(t, []int{tids[0]}, tasksOf(t, vcpu))
	}
	assertNoOtherGroupHas(t, m, "d", cpu)

	err = m.Delete("d")
	assert.ErrorIs(t, err, ErrBusy)
}

// assertNoOtherGroupHas walks every cpuset group under the parent and checks
// that only the dedicated VM's own groups may use cpu.
func assertNoOtherGroupHas(t *testing.T, m Manager, owner string, cpu int) {
	t.Helper()
	var root string
	switch m.Mode() {
	case ModeV1:
		root = filepath.Dir(filepath.Dir(m.Dir(owner, "cpuset"))) // .../cpuset/<parent>
	case ModeV2:
		root = filepath.Dir(m.Dir(owner, ""))
	}
	ownDirs := []string{root}
	if m.Mode() == ModeV1 {
		ownDirs = append(ownDirs, filepath.Join(root, "vm-"+owner))
	} else {
		ownDirs = append(ownDirs, m.Dir(owner, ""))
	}
	checked := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		for _, own := range ownDirs {
			if p == own || (own != root && filepath.Dir(p) == own) {
				return nil
			}
		}
		file := "cpuset.cpus"
		if m.Mode() == ModeV2 {
			file = "cpuset.cpus.effective"
		}
		cpus, err := readCPUFile(filepath.Join(p, file))
		if err != nil {
			return err
		}
		checked++
		assert.NotContains(t, cpus, cpu, "%s may not use dedicated CPU %d", p, cpu)
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 0)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	s, err := readString(path)
	require.NoError(t, err)
	return s
}

// parentOf recovers the test parent's name from a VM directory.
func parentOf(t *testing.T, m Manager) string {
	t.Helper()
	dir := filepath.Base(filepath.Dir(m.Dir("x", "cpu")))
	if m.Mode() == ModeV2 {
		dir = dir[:len(dir)-len(".slice")]
	}
	return dir
}

// TestHalfMadeGroupIsListedAndDeleted: what a crash between two mkdirs
// leaves behind is visible to List, blocks Create and goes with Delete.
func TestHalfMadeGroupIsListedAndDeleted(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	if m.Mode() != ModeV1 {
		t.Skip("v2 makes a VM's group with one mkdir")
	}
	require.NoError(t, os.Mkdir(m.Dir("z", "cpuset"), 0o755))
	uids, err := m.List()
	require.NoError(t, err)
	assert.Equal(t, []string{"z"}, uids)
	assert.ErrorIs(t, m.Create("z", Spec{CPUGuaranteedMilli: 100, CPULimitCores: 1}), ErrExists)
	require.NoError(t, m.Delete("z"))
	require.NoError(t, m.Create("z", Spec{CPUGuaranteedMilli: 100, CPULimitCores: 1}))
}
