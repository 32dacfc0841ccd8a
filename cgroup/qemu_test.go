package cgroup

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cgroups "github.com/containerd/cgroups/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestModeDetection(t *testing.T) {
	m := newTestManager(t, DefaultConfig())
	switch cgroups.Mode() {
	case cgroups.Unified:
		assert.Equal(t, ModeV2, m.Mode())
	default:
		assert.Equal(t, ModeV1, m.Mode())
	}
}

// TestV2 runs the v2 implementation where the host can: on a unified host
// every other test already does; on a hybrid host (the build machines) the
// cgroup2 mount at /sys/fs/cgroup/unified has no controllers, so this skips
// and says so.
func TestV2(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode = ModeV2
	if cgroups.Mode() == cgroups.Hybrid {
		cfg.Root = "/sys/fs/cgroup/unified"
	}
	m := newTestManager(t, cfg)
	require.NoError(t, m.Create("a", Spec{CPUGuaranteedMilli: 500, CPULimitCores: 2, MemoryBytes: 64 << 20}))
	assert.Equal(t, "50", cgroupFile(t, m, "a", "", "cpu.weight"))
	assert.Equal(t, "200000 100000", cgroupFile(t, m, "a", "", "cpu.max"))
}

// TestQEMUVCPUPinning pins the vCPU thread of a real QEMU, found with QMP
// query-cpus-fast, to a dedicated CPU. One vCPU: with two host CPUs one
// must stay in the shared pool for the emulator threads and other VMs.
func TestQEMUVCPUPinning(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed")
	}
	m := newTestManager(t, DefaultConfig())
	all, err := m.SharedPool()
	require.NoError(t, err)
	if len(all) < 2 {
		t.Skipf("needs 2 CPUs, the shared pool has %s", FormatCPUList(all))
	}
	alloc, err := NewAllocator(filepath.Join(t.TempDir(), "cpus.json"), all, all[:1])
	require.NoError(t, err)
	ded, err := alloc.Allocate("q", 1)
	require.NoError(t, err)
	require.NoError(t, m.Create("q", Spec{CPUGuaranteedMilli: 1000, CPULimitCores: 1, MemoryBytes: 64<<20 + MemoryOverhead(1, 64<<20), DedicatedCPUs: ded}))
	require.NoError(t, m.Create("other", Spec{CPUGuaranteedMilli: 500, CPULimitCores: 2}))

	sock := filepath.Join(t.TempDir(), "qmp.sock")
	cmd := startProcess(t, qemu, "-machine", "pc", "-nodefaults", "-display", "none", "-accel", "tcg",
		"-smp", "1", "-m", "64", "-name", "t,debug-threads=on", "-S",
		"-qmp", "unix:"+sock+",server=on,wait=off")
	pid := cmd.Process.Pid
	require.NoError(t, m.AddProcess("q", pid))

	vcpus := queryCPUsFast(t, sock)
	require.Len(t, vcpus, 1)
	tid := vcpus[0].ThreadID
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", pid, tid))
	require.NoError(t, err)
	assert.Equal(t, "CPU 0/TCG", strings.TrimSpace(string(comm)))

	require.NoError(t, m.PinThread("q", tid, ded[0]))
	got, err := ReadCPUsAllowed(tid)
	require.NoError(t, err)
	assert.Equal(t, ded, got, "vCPU 0 runs only on its dedicated CPU")
	threads, err := Threads(pid)
	require.NoError(t, err)
	require.Greater(t, len(threads), 1)
	for _, th := range threads {
		if th == tid {
			continue
		}
		allowed, err := ReadCPUsAllowed(th)
		require.NoError(t, err)
		assert.NotContains(t, allowed, ded[0], "emulator thread %d stays on the shared pool", th)
	}
	assertNoOtherGroupHas(t, m, "q", ded[0])

	kill(cmd)
	require.NoError(t, m.Delete("q"))
	require.NoError(t, alloc.Release("q"))
	pool, err := m.SharedPool()
	require.NoError(t, err)
	assert.Equal(t, all, pool)
}

type qmpCPU struct {
	CPUIndex int `json:"cpu-index"`
	ThreadID int `json:"thread-id"`
}

// queryCPUsFast speaks raw QMP: greeting, qmp_capabilities,
// query-cpus-fast; events in between are skipped.
func queryCPUsFast(t *testing.T, sock string) []qmpCPU {
	t.Helper()
	var conn net.Conn
	require.Eventually(t, func() bool {
		c, err := net.Dial("unix", sock)
		conn = c
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "QMP socket %s", sock)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	r := bufio.NewReader(conn)
	readReply := func() json.RawMessage {
		for {
			line, err := r.ReadBytes('\n')
			require.NoError(t, err)
			var msg struct {
				Return json.RawMessage `json:"return"`
				Error  any             `json:"error"`
				QMP    any             `json:"QMP"`
			}
			require.NoError(t, json.Unmarshal(line, &msg), "%s", line)
			require.Nil(t, msg.Error, "%s", line)
			if msg.Return != nil || msg.QMP != nil {
				return msg.Return
			}
		}
	}
	readReply() // greeting
	_, err := conn.Write([]byte(`{"execute":"qmp_capabilities"}` + "\n"))
	require.NoError(t, err)
	readReply()
	_, err = conn.Write([]byte(`{"execute":"query-cpus-fast"}` + "\n"))
	require.NoError(t, err)
	var cpus []qmpCPU
	require.NoError(t, json.Unmarshal(readReply(), &cpus))
	return cpus
}
