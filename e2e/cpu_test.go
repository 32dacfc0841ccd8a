package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/api"
	"davit/cgroup"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CPU enforcement end to end: a real agent starts real QEMUs (the test
// guest's ISO imported as CVI "guest" over HTTP) and the tests read back
// what the kernel enforces — cgroup v1 files under the agent's own
// --cgroup-parent, and each QEMU thread's Cpus_allowed_list in /proc — not
// what davit says it did. The host here is hybrid (cgroup v1); on a
// unified host the v1 paths do not exist and the tests skip.

const cpuBootTimeout = 90 * time.Second // placement, cgroup, QEMU up under TCG on a busy 2-CPU machine

// pinnedClass allows dedicated cores for 1-4 cores at coreFraction 100%.
const pinnedClass = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: pinned
spec:
  cpu:
    type: Host
  sizingPolicies:
    - cores: {min: 1, max: 4}
      dedicatedCores: [true, false]
      coreFractions: [100]
`

// startCPUAgent starts agent name (see startAgent), waits for the class
// generic, and imports the test guest's ISO as CVI "guest". It skips
// without a cgroup v1 cpu hierarchy.
func startCPUAgent(t *testing.T, name string) *vmAgent {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/cpu/tasks"); err != nil {
		t.Skip("no cgroup v1 cpu hierarchy at /sys/fs/cgroup/cpu: these tests read v1 files")
	}
	a, g := startAgent(t, name, true)
	var out string
	require.Eventually(t, func() bool {
		out, _, _ = a.CLI("", "get", "vmclass", "generic", "-o", "jsonpath={.status.phase}")
		return out == "Ready"
	}, 30*time.Second, 100*time.Millisecond, "class generic not Ready (phase %q)", out)
	a.importGuest(g)
	return a
}

// startPinnedAgent is startCPUAgent with class pinned applied; it skips on
// fewer than 2 CPUs (one stays in the shared pool).
func startPinnedAgent(t *testing.T, name string) *vmAgent {
	t.Helper()
	if runtime.NumCPU() < 2 {
		t.Skipf("needs 2 CPUs (one stays in the shared pool), have %d", runtime.NumCPU())
	}
	a := startCPUAgent(t, name)
	a.apply(pinnedClass)
	return a
}

// cpuVMYAML is a 256Mi VM in namespace default booting CVI guest; cpu is
// the flow mapping of spec.cpu.
func cpuVMYAML(name, class, cpu string) string {
	return fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: %s
  namespace: default
spec:
  runPolicy: AlwaysOnUnlessStoppedManually
  virtualMachineClassName: %s
  cpu: %s
  memory: {size: 256Mi}
  blockDeviceRefs:
    - {kind: ClusterVirtualImage, name: guest}
`, name, class, cpu)
}

// dedicated reads DATA/dedicated-cpus.json (cgroup.Allocator's file):
// uid → CPUs. A missing file is no assignment.
func (a *vmAgent) dedicated() map[string][]int {
	a.t.Helper()
	b, err := os.ReadFile(filepath.Join(a.DataDir, "dedicated-cpus.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(a.t, err)
	var f struct {
		Version     int              `json:"version"`
		Assignments map[string][]int `json:"assignments"`
	}
	require.NoError(a.t, json.Unmarshal(b, &f), "%s", b)
	require.Equal(a.t, 1, f.Version, "%s", b)
	return f.Assignments
}

// sharedPool reads the shared pool's cpuset.cpus.
func (a *vmAgent) sharedPool() []int {
	a.t.Helper()
	return parseCPUs(a.t, readTrim(a.t, filepath.Join(a.cgroupV1("cpuset", "shared"), "cpuset.cpus")))
}

func readTrim(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func readInt64(t testing.TB, path string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(readTrim(t, path), 10, 64)
	require.NoError(t, err, path)
	return n
}

// parseCPUs parses a kernel CPU list ("0-1", "1", "0,2-3", ""), on its own
// rather than with the package under test.
func parseCPUs(t testing.TB, s string) []int {
	t.Helper()
	var out []int
	for part := range strings.SplitSeq(strings.TrimSpace(s), ",") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		require.NoError(t, err, "CPU list %q", s)
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			require.NoError(t, err, "CPU list %q", s)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}

// qemuThread is one thread of a QEMU and the CPUs it may run on.
type qemuThread struct {
	TID     int
	Comm    string
	Allowed []int
}

// threadsOf reads every thread of pid: its name and Cpus_allowed_list.
// Threads that end while being read are left out.
func threadsOf(t testing.TB, pid int) []qemuThread {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	var out []qemuThread
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
		comm, err1 := os.ReadFile(dir + "/comm")
		status, err2 := os.ReadFile(dir + "/status")
		if errors.Is(err1, os.ErrNotExist) || errors.Is(err2, os.ErrNotExist) {
			continue
		}
		require.NoError(t, errors.Join(err1, err2))
		th := qemuThread{TID: tid, Comm: strings.TrimSpace(string(comm))}
		found := false
		for line := range strings.SplitSeq(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				th.Allowed, found = parseCPUs(t, v), true
			}
		}
		require.True(t, found, "no Cpus_allowed_list in %s/status", dir)
		out = append(out, th)
	}
	require.NotEmpty(t, out, "QEMU %d has no threads", pid)
	return out
}

// vcpu0 returns the thread of pid named "CPU 0/..." (QEMU's
// debug-threads name for vCPU 0).
func vcpu0(t testing.TB, threads []qemuThread) qemuThread {
	t.Helper()
	for _, th := range threads {
		if strings.HasPrefix(th.Comm, "CPU 0/") {
			return th
		}
	}
	t.Fatalf("no thread named \"CPU 0/...\" among %+v", threads)
	return qemuThread{}
}

func allCPUs() []int {
	cpus := make([]int, runtime.NumCPU())
	for i := range cpus {
		cpus[i] = i
	}
	return cpus
}

// TestCPUFraction: coreFraction 20% of one core becomes cpu.shares 204, a
// CFS quota of one CPU and the memory limit with its overhead on the real
// cgroupfs, with QEMU inside; a Stop operation removes the groups.
func TestCPUFraction(t *testing.T) {
	a := startCPUAgent(t, "cf")
	a.apply(cpuVMYAML("frac", "generic", "{cores: 1, coreFraction: 20%}"))
	v, pid := a.runningPID("frac", 0, cpuBootTimeout)
	uid := v.Metadata.UID
	cpu := a.cgroupV1("cpu", "vm-"+uid)

	assert.Equal(t, int64(200*1024/1000), readInt64(t, filepath.Join(cpu, "cpu.shares")), "cpu.shares of 200 milli-CPUs")
	assert.Equal(t, int64(100000), readInt64(t, filepath.Join(cpu, "cpu.cfs_quota_us")), "one core")
	assert.Equal(t, int64(cgroup.CFSPeriodUs), readInt64(t, filepath.Join(cpu, "cpu.cfs_period_us")))
	const mem = 256 << 20
	assert.Equal(t, mem+cgroup.MemoryOverhead(1, mem),
		readInt64(t, filepath.Join(a.cgroupV1("memory", "vm-"+uid), "memory.limit_in_bytes")))
	groups := []string{cpu, a.cgroupV1("cpuacct", "vm-"+uid), a.cgroupV1("memory", "vm-"+uid), a.cgroupV1("cpuset", "shared/vm-"+uid)}
	if _, err := os.Stat("/sys/fs/cgroup/pids/tasks"); err == nil {
		groups = append(groups, a.cgroupV1("pids", "vm-"+uid))
	}
	for _, g := range groups {
		procs := parsePIDs(t, readTrim(t, filepath.Join(g, "cgroup.procs")))
		assert.Contains(t, procs, pid, "QEMU %d in %s", pid, g)
	}
	require.NotNil(t, v.Status.Resources, "status.resources")
	assert.Equal(t, 1, v.Status.Resources.CPU.Cores)
	assert.Equal(t, "20%", v.Status.Resources.CPU.CoreFraction)
	assert.Equal(t, "200m", v.Status.Resources.CPU.RequestedCores)

	// The cgroup's figures: in the status (written once the VM runs, then
	// every api.VMUsageInterval) and in /metrics at each scrape.
	v = a.waitVM("frac", 30*time.Second, "status.usage", func(v vmView) bool { return v.Status.Usage != nil })
	assert.Equal(t, uint64(mem+cgroup.MemoryOverhead(1, mem)), v.Status.Usage.MemoryLimitBytes)
	assert.Positive(t, v.Status.Usage.MemoryBytes, "QEMU's memory is charged to the VM's group")
	resp, err := http.Get(a.URL() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Regexp(t, `davit_vm_cpu_seconds_total\{name="frac",namespace="default"\} [0-9.e+-]+`, string(body))
	assert.Regexp(t, `davit_vm_memory_limit_bytes\{name="frac",namespace="default"\} `, string(body))
	assert.Contains(t, string(body), "davit_vms_running 1")

	a.apply(vmopYAML("stop-frac", "Stop", "frac"))
	a.waitPhase("frac", string(api.VMStopped), 60*time.Second)
	require.Eventually(t, func() bool { return a.qemuPID(uid) == 0 }, 10*time.Second, 50*time.Millisecond, "QEMU %d still runs", pid)
	require.Eventually(t, func() bool {
		for _, g := range groups {
			if _, err := os.Stat(g); err == nil {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "a group of the stopped VM remains: %v", groups)
}

func parsePIDs(t testing.TB, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		require.NoError(t, err)
		out = append(out, n)
	}
	return out
}

// TestDedicated: a VM with a dedicated core has its vCPU thread alone on
// the CPU the allocator recorded for it; its emulator threads, another
// VM's threads and the shared pool stay off it. A second dedicated VM
// waits Pending (InsufficientDedicatedCores); dedicated cores below 100%
// are refused. Deleting the VM frees the CPU.
func TestDedicated(t *testing.T) {
	a := startPinnedAgent(t, "dc")
	a.apply(cpuVMYAML("ded", "pinned", "{cores: 1, coreFraction: 100%, dedicatedCores: true}"))
	a.apply(cpuVMYAML("plain", "generic", "{cores: 1, coreFraction: 10%}"))
	ded, dpid := a.runningPID("ded", 0, cpuBootTimeout)
	plain, ppid := a.runningPID("plain", 0, cpuBootTimeout)

	assign := a.dedicated()
	require.Len(t, assign[ded.Metadata.UID], 1, "allocator file: %v", assign)
	cpu := assign[ded.Metadata.UID][0]
	assert.NotContains(t, assign, plain.Metadata.UID)
	t.Logf("dedicated VM %s holds CPU %d", ded.Metadata.UID, cpu)

	threads := threadsOf(t, dpid)
	v0 := vcpu0(t, threads)
	assert.Equal(t, []int{cpu}, v0.Allowed, "vCPU 0 (thread %d %q) runs only on its CPU", v0.TID, v0.Comm)
	for _, th := range threads {
		if th.TID != v0.TID {
			assert.NotEmpty(t, th.Allowed)
			assert.NotContains(t, th.Allowed, cpu, "emulator thread %d %q of the dedicated VM", th.TID, th.Comm)
		}
	}
	for _, th := range threadsOf(t, ppid) {
		assert.NotEmpty(t, th.Allowed)
		assert.NotContains(t, th.Allowed, cpu, "thread %d %q of the shared VM", th.TID, th.Comm)
	}
	assert.NotContains(t, a.sharedPool(), cpu, "the shared pool excludes the dedicated CPU")
	assert.Equal(t, []int{cpu}, parseCPUs(t, readTrim(t, filepath.Join(a.cgroupV1("cpuset", "vm-"+ded.Metadata.UID), "cpuset.cpus"))))

	// The node has one CPU to dedicate, and it is taken.
	a.apply(cpuVMYAML("ded2", "pinned", "{cores: 1, coreFraction: 100%, dedicatedCores: true}"))
	d2 := a.waitVM("ded2", 30*time.Second, "Pending naming InsufficientDedicatedCores", func(v vmView) bool {
		if v.Status.Phase != string(api.VMPending) {
			return false
		}
		for _, c := range v.Status.Conditions {
			if strings.Contains(c.Message, "InsufficientDedicatedCores") {
				return true
			}
		}
		return false
	})
	t.Logf("ded2: %s", d2)
	assert.Empty(t, d2.Status.NodeName)
	assert.NotContains(t, a.dedicated(), d2.Metadata.UID)

	// Dedicated cores need coreFraction 100%.
	out, errOut, code := a.CLI(cpuVMYAML("half", "pinned", "{cores: 1, coreFraction: 50%, dedicatedCores: true}"), "apply", "-f", "-")
	assert.NotEqual(t, 0, code, "apply: %s", out)
	assert.Contains(t, errOut, "spec.cpu.coreFraction")
	assert.Contains(t, errOut, "dedicated cores need coreFraction 100%")
	t.Logf("half: %s", errOut)
	_, ok := a.getVM("half")
	assert.False(t, ok, "the refused VM was stored")

	// ded2 goes first, so the freed CPU is not taken again at once.
	a.deleteVM("ded2")
	a.deleteVM("ded")
	assert.Eventually(t, func() bool { _, held := a.dedicated()[ded.Metadata.UID]; return !held },
		10*time.Second, 100*time.Millisecond, "the allocator still lists %s: %v", ded.Metadata.UID, a.dedicated())
	assert.Eventually(t, func() bool { return slices.Equal(allCPUs(), a.sharedPool()) },
		10*time.Second, 100*time.Millisecond, "shared pool %v, want every CPU", a.sharedPool())
	_, err := os.Stat(a.cgroupV1("cpuset", "vm-"+ded.Metadata.UID))
	assert.True(t, os.IsNotExist(err), "the dedicated cpuset group remains (%v)", err)
	// The shared VM now may use every CPU.
	assert.Eventually(t, func() bool {
		for _, th := range threadsOf(t, ppid) {
			if !slices.Equal(allCPUs(), th.Allowed) {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "threads of the shared VM: %+v", threadsOf(t, ppid))
	// Deleted through the agent: CleanupVMs's kill of a live QEMU can see
	// its leader a zombie while a thread is still in the cgroup.
	a.deleteVM("plain")
}

// TestDedicatedAdopt: after kill -9 of the agent and a restart, a running
// dedicated VM keeps its QEMU, its vCPU stays pinned to the same CPU and
// the allocator still holds it; deleting it then frees the CPU.
func TestDedicatedAdopt(t *testing.T) {
	a := startPinnedAgent(t, "da")
	a.apply(cpuVMYAML("ded", "pinned", "{cores: 1, coreFraction: 100%, dedicatedCores: true}"))
	v, pid := a.runningPID("ded", 0, cpuBootTimeout)
	uid := v.Metadata.UID
	require.Len(t, a.dedicated()[uid], 1)
	cpu := a.dedicated()[uid][0]
	before := vcpu0(t, threadsOf(t, pid))
	require.Equal(t, []int{cpu}, before.Allowed)

	a.Kill()
	a.Start()
	v, pid2 := a.runningPID("ded", 0, cpuBootTimeout)
	assert.Equal(t, pid, pid2, "the QEMU was replaced")
	assert.Equal(t, uid, v.Metadata.UID)
	// Give the restarted agent's passes time to do anything they would.
	time.Sleep(3 * time.Second)
	v, _ = a.getVM("ded")
	assert.Equal(t, string(api.VMRunning), v.Status.Phase, "%s", v)
	assert.Equal(t, pid, a.qemuPID(uid), "the QEMU was replaced")
	after := vcpu0(t, threadsOf(t, pid))
	assert.Equal(t, before.TID, after.TID)
	assert.Equal(t, []int{cpu}, after.Allowed, "vCPU 0 is still pinned to CPU %d", cpu)
	assert.Equal(t, []int{cpu}, a.dedicated()[uid], "the allocator still holds the CPU")
	assert.NotContains(t, a.sharedPool(), cpu)

	a.deleteVM("ded")
	assert.Eventually(t, func() bool { return len(a.dedicated()) == 0 },
		10*time.Second, 100*time.Millisecond, "the allocator still lists %v", a.dedicated())
	assert.Eventually(t, func() bool { return slices.Equal(allCPUs(), a.sharedPool()) },
		10*time.Second, 100*time.Millisecond, "shared pool %v, want every CPU", a.sharedPool())
}

// TestDedicatedCrash: the agent and the dedicated VM's QEMU are both
// killed; the restarted agent starts the VM again, pinned to a CPU that
// the allocator file records for it.
func TestDedicatedCrash(t *testing.T) {
	a := startPinnedAgent(t, "dx")
	a.apply(cpuVMYAML("ded", "pinned", "{cores: 1, coreFraction: 100%, dedicatedCores: true}"))
	v, pid := a.runningPID("ded", 0, cpuBootTimeout)
	uid := v.Metadata.UID
	require.Len(t, a.dedicated()[uid], 1)

	a.Kill()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	// Gone from its groups (a zombie leader may still have a thread there).
	groups := []string{a.cgroupV1("cpuset", "shared/vm-"+uid), a.cgroupV1("cpuset", "vm-"+uid+"/vcpu0"), a.cgroupV1("cpu", "vm-"+uid)}
	require.Eventually(t, func() bool {
		for _, g := range groups {
			if readTrim(t, filepath.Join(g, "tasks")) != "" {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "QEMU %d still in its groups", pid)

	a.Start()
	_, pid2 := a.runningPID("ded", pid, cpuBootTimeout)
	held := parseCPUs(t, readTrim(t, filepath.Join(a.cgroupV1("cpuset", "vm-"+uid), "cpuset.cpus")))
	require.Len(t, held, 1, "the restarted VM's dedicated group")
	assert.Equal(t, held, vcpu0(t, threadsOf(t, pid2)).Allowed, "vCPU 0 of the new QEMU is pinned")
	assert.NotContains(t, a.sharedPool(), held[0])
	assert.Equal(t, held, a.dedicated()[uid], "the allocator still records the VM's CPU (%s)",
		filepath.Join(a.DataDir, "dedicated-cpus.json"))
	a.deleteVM("ded")
	assert.Eventually(t, func() bool { return slices.Equal(allCPUs(), a.sharedPool()) },
		10*time.Second, 100*time.Millisecond, "shared pool %v, want every CPU", a.sharedPool())
}
