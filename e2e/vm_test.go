package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The VM tests run real QEMUs (the test guest from qemu/qemutest, its ISO
// imported as CVI "guest" over HTTP) under real agents. Tests on one agent
// are parallel subtests with VMs of their own names; the agent-kill test
// has an agent of its own.

const (
	bootTimeout = 60 * time.Second // placement, start, QEMU up (TCG on CI)
	stopTimeout = 30 * time.Second
)

// TestVMInput: what a VM cannot run with — missing dependencies, a class
// policy it breaks, a disk another VM holds — is reported, not run.
func TestVMInput(t *testing.T) {
	t.Parallel()
	a := startVMAgent(t, "in", true)
	t.Run("deps", func(t *testing.T) { t.Parallel(); testMissingDeps(t, a.in(t)) })
	t.Run("sizing", func(t *testing.T) { t.Parallel(); testSizingViolations(t, a.in(t)) })
	t.Run("rwo", func(t *testing.T) { t.Parallel(); testSharedRWODisk(t, a.in(t)) })
}

// testMissingDeps: a VM naming a missing disk, image or class is accepted
// and waits Pending with a condition naming what is missing; creating the
// missing image lets its VM run.
func testMissingDeps(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("nodisk", "AlwaysOn", "ClusterVirtualImage/guest", "VirtualDisk/ghost-disk"))
	a.apply(vmYAML("noimg", "AlwaysOn", "ClusterVirtualImage/late-img"))
	out := a.apply(strings.Replace(vmYAML("nocls", "AlwaysOn", "ClusterVirtualImage/guest"),
		"virtualMachineClassName: tiny", "virtualMachineClassName: ghost-class", 1))
	assert.Contains(t, out, "virtualmachine/nocls created", "a VM of a missing class is accepted")

	// Each one names its missing dependency in BlockDevicesReady or Running.
	names := func(what string) func(vmView) bool {
		return func(v vmView) bool {
			return v.Status.Phase == string(api.VMPending) &&
				(strings.Contains(v.cond("BlockDevicesReady").Message, what) || strings.Contains(v.cond("Running").Message, what))
		}
	}
	v := a.waitVM("nodisk", 20*time.Second, "Pending naming ghost-disk", names("ghost-disk"))
	t.Logf("nodisk: %s", v)
	v = a.waitVM("noimg", 20*time.Second, "Pending naming late-img", names("late-img"))
	t.Logf("noimg: %s", v)
	v = a.waitVM("nocls", 20*time.Second, "Pending, VirtualMachineClassReady=False naming ghost-class", func(v vmView) bool {
		c := v.cond("VirtualMachineClassReady")
		return v.Status.Phase == string(api.VMPending) && c.Status == api.ConditionFalse && strings.Contains(c.Message, "ghost-class")
	})
	t.Logf("nocls: %s", v)
	for _, n := range []string{"nodisk", "noimg", "nocls"} {
		v, _ := a.getVM(n)
		assert.Empty(t, v.Status.NodeName, "VM %s was placed", n)
		assert.Zero(t, a.qemuPID(v.Metadata.UID), "VM %s has a QEMU", n)
	}

	// The image arrives: its VM runs; the others still wait.
	a.apply(cviYAML("late-img", a.isoURL))
	a.runningPID("noimg", 0, bootTimeout)
	for _, n := range []string{"nodisk", "nocls"} {
		v, _ := a.getVM(n)
		assert.Equal(t, string(api.VMPending), v.Status.Phase, "VM %s", n)
	}
	for _, n := range []string{"nodisk", "noimg", "nocls"} {
		_, errOut, code := a.CLI("", "delete", "vm", n, "-n", "default", "--wait=false")
		require.Equal(t, 0, code, errOut)
	}
}

// testSizingViolations: against the predefined generic class, a VM that
// breaks its policy and the CPU topology in several ways at once is
// refused, and the one message names every violated field with its value.
// (sizing_test.go covers coreFraction and memory steps of a class of its
// own; generic has no memory policy, so memory is checked for being > 0.)
func testSizingViolations(t *testing.T, a *vmAgent) {
	const vm = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: NAME
  namespace: default
spec:
  virtualMachineClassName: generic
  cpu: CPU
  memory: {size: MEM}
  blockDeviceRefs:
    - {kind: ClusterVirtualImage, name: guest}
`
	cases := []struct {
		name, cpu, mem string
		want           []string
	}{{
		// 5-8 cores: fractions 20/50/100 only, no dedicated cores.
		name: "six", cpu: "{cores: 6, coreFraction: 10%, dedicatedCores: true}", mem: "0",
		want: []string{
			`spec.cpu.coreFraction: NotSupported: "10%": must be one of 20%, 50%, 100% for 5-8 cores`,
			`spec.cpu.dedicatedCores: Forbidden: "true"`,
			`spec.cpu.coreFraction: Invalid: "10%": dedicated cores need coreFraction 100%`,
			`spec.memory.size: Invalid: "0"`,
		},
	}, {
		// 17 cores: two sockets (an even count), and only 100%.
		name: "seventeen", cpu: "{cores: 17, coreFraction: 50%}", mem: "1Gi",
		want: []string{
			`spec.cpu.cores: Invalid: "17"`,
			`spec.cpu.coreFraction: NotSupported: "50%": must be one of 100% for 17-1024 cores`,
		},
	}, {
		// 9-16 cores: 50/100 only.
		name: "twelve", cpu: "{cores: 12, coreFraction: 20%}", mem: "4Gi",
		want: []string{`spec.cpu.coreFraction: NotSupported: "20%": must be one of 50%, 100% for 9-16 cores`},
	}}
	for _, c := range cases {
		doc := strings.NewReplacer("NAME", c.name, "CPU", c.cpu, "MEM", c.mem).Replace(vm)
		out, errOut, code := a.CLI(doc, "apply", "-f", "-")
		assert.NotEqual(t, 0, code, "%s was accepted: %s", c.name, out)
		assert.Contains(t, errOut, `VirtualMachine "`+c.name+`" is invalid`)
		for _, w := range c.want {
			assert.Contains(t, errOut, w, "case %s", c.name)
		}
		assert.Equal(t, len(c.want), strings.Count(errOut, "\n* "), "case %s: one line per violation:\n%s", c.name, errOut)
		_, _, code = a.CLI("", "get", "vm", c.name, "-n", "default")
		assert.NotEqual(t, 0, code, "refused VM %s was stored", c.name)
	}
}

// testSharedRWODisk: two VMs using one ReadWriteOnce disk: one runs, the
// other waits Pending with a message naming the disk and the holder.
func testSharedRWODisk(t *testing.T, a *vmAgent) {
	a.apply(blankDiskYAML("rwo-disk", "64Mi"))
	a.apply(vmYAML("rwo-a", "AlwaysOn", "ClusterVirtualImage/guest", "VirtualDisk/rwo-disk") + "---\n" +
		vmYAML("rwo-b", "AlwaysOn", "ClusterVirtualImage/guest", "VirtualDisk/rwo-disk"))

	var runner, waiter string
	require.Eventually(t, func() bool {
		va, _ := a.getVM("rwo-a")
		vb, _ := a.getVM("rwo-b")
		switch {
		case va.Status.Phase == string(api.VMRunning):
			runner, waiter = "rwo-a", "rwo-b"
		case vb.Status.Phase == string(api.VMRunning):
			runner, waiter = "rwo-b", "rwo-a"
		}
		return runner != ""
	}, bootTimeout, 200*time.Millisecond, "neither VM runs")
	v := a.waitVM(waiter, 20*time.Second, "Pending naming the disk and "+runner, func(v vmView) bool {
		msg := v.cond("Running").Message + " " + v.cond("BlockDevicesReady").Message
		return v.Status.Phase == string(api.VMPending) && strings.Contains(msg, "rwo-disk") && strings.Contains(msg, runner)
	})
	t.Logf("%s: %s", waiter, v)
	assert.Empty(t, v.Status.NodeName)
	assert.Zero(t, a.qemuPID(v.Metadata.UID), "the waiting VM has a QEMU")
	// It stays so.
	time.Sleep(3 * time.Second)
	v, _ = a.getVM(waiter)
	assert.Equal(t, string(api.VMPending), v.Status.Phase)
	assert.Zero(t, a.qemuPID(v.Metadata.UID), "the waiting VM has a QEMU")
	vr, _ := a.getVM(runner)
	assert.Equal(t, string(api.VMRunning), vr.Status.Phase)
	assert.NotZero(t, a.qemuPID(vr.Metadata.UID))
}

// TestVMFaults: a VM's QEMU killed by hand, a guest poweroff, Stop and
// Restart operations, and deletion, on one agent.
func TestVMFaults(t *testing.T) {
	t.Parallel()
	a := startVMAgent(t, "flt", true)
	t.Run("killon", func(t *testing.T) { t.Parallel(); testKillAlwaysOn(t, a.in(t)) })
	t.Run("killman", func(t *testing.T) { t.Parallel(); testKillManual(t, a.in(t)) })
	t.Run("poweroff", func(t *testing.T) { t.Parallel(); testGuestPoweroff(t, a.in(t)) })
	t.Run("ops", func(t *testing.T) { t.Parallel(); testStopRestartOps(t, a.in(t)) })
	t.Run("restart1s", func(t *testing.T) { t.Parallel(); testRestartRightAfterStart(t, a.in(t)) })
	t.Run("delete", func(t *testing.T) { t.Parallel(); testDelete(t, a.in(t)) })
}

// testKillAlwaysOn: an AlwaysOn VM whose QEMU is killed gets a new one,
// and its Running condition said the QEMU exited meanwhile.
func testKillAlwaysOn(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("kon", "AlwaysOn", "ClusterVirtualImage/guest"))
	_, pid := a.runningPID("kon", 0, bootTimeout)
	kill9(t, pid)

	var exitedMsg string
	v := a.waitVM("kon", bootTimeout, "Running again with a new QEMU", func(v vmView) bool {
		if m := v.cond("Running").Message; strings.Contains(m, "exited") {
			exitedMsg = m
		}
		return v.Status.Phase == string(api.VMRunning) && a.qemuPID(v.Metadata.UID) != 0 && a.qemuPID(v.Metadata.UID) != pid
	})
	t.Logf("kon: %s", v)
	assert.Contains(t, exitedMsg, "QEMU (pid "+strconv.Itoa(pid)+") exited", "the Running condition never said the QEMU exited")
	assert.Equal(t, api.PowerOn, v.Status.PowerState)
}

// testKillManual: a Manual VM is created stopped, runs after a Start
// operation, and once its QEMU is killed it is Stopped with power Off
// (and not restarted).
func testKillManual(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("kman", "Manual", "ClusterVirtualImage/guest"))
	v := a.waitPhase("kman", string(api.VMStopped), 20*time.Second)
	assert.Equal(t, api.PowerOff, v.Status.PowerState)
	assert.Zero(t, a.qemuPID(v.Metadata.UID))

	a.apply(vmopYAML("kman-start", "Start", "kman"))
	_, pid := a.runningPID("kman", 0, bootTimeout)
	a.waitVMOP("kman-start", "Completed", 20*time.Second)
	kill9(t, pid)

	v = a.waitVM("kman", stopTimeout, "Stopped with power Off", func(v vmView) bool {
		return v.Status.Phase == string(api.VMStopped) && v.Status.PowerState == api.PowerOff
	})
	t.Logf("kman: %s", v)
	assert.Empty(t, v.Status.NodeName)
	time.Sleep(3 * time.Second)
	v, _ = a.getVM("kman")
	assert.Equal(t, string(api.VMStopped), v.Status.Phase, "a killed Manual VM was restarted")
	assert.Zero(t, a.qemuPID(v.Metadata.UID))
}

// testGuestPoweroff: an AlwaysOnUnlessStoppedManually VM whose guest powers
// itself off stays Stopped until a Start operation runs it again.
func testGuestPoweroff(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("poff", "AlwaysOnUnlessStoppedManually", "ClusterVirtualImage/guest"))
	v, pid := a.runningPID("poff", 0, bootTimeout)
	con := a.openConsole(v.Metadata.UID)
	con.waitTick(0, 30*time.Second) // the guest's init reads the console
	con.send("poweroff\n")

	v = a.waitVM("poff", stopTimeout, "Stopped with power Off", func(v vmView) bool {
		return v.Status.Phase == string(api.VMStopped) && v.Status.PowerState == api.PowerOff
	})
	t.Logf("poff: %s", v)
	waitPIDGone(t, pid, 5*time.Second)
	assert.Contains(t, v.cond("Running").Message, "powered off")
	time.Sleep(5 * time.Second)
	v, _ = a.getVM("poff")
	assert.Equal(t, string(api.VMStopped), v.Status.Phase, "the VM was restarted after a guest poweroff")
	assert.Zero(t, a.qemuPID(v.Metadata.UID))

	a.apply(vmopYAML("poff-start", "Start", "poff"))
	_, pid2 := a.runningPID("poff", pid, bootTimeout)
	assert.NotEqual(t, pid, pid2)
	a.waitVMOP("poff-start", "Completed", 20*time.Second)
}

// testStopRestartOps: Restart gives a running VM a new QEMU, Stop ends it;
// both operations complete and are listed.
func testStopRestartOps(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("ops", "AlwaysOnUnlessStoppedManually", "ClusterVirtualImage/guest"))
	_, pid := a.runningPID("ops", 0, bootTimeout)

	// The Restart goes in a later second than the start (see
	// testRestartRightAfterStart for the same second).
	time.Sleep(1100 * time.Millisecond)
	a.apply(vmopYAML("ops-restart", "Restart", "ops"))
	a.waitVMOP("ops-restart", "Completed", bootTimeout)
	v, pid2 := a.runningPID("ops", pid, 10*time.Second)
	assert.False(t, pidAlive(pid), "the old QEMU %d survived the restart", pid)

	a.apply(vmopYAML("ops-stop", "Stop", "ops"))
	a.waitVMOP("ops-stop", "Completed", stopTimeout+30*time.Second) // a graceful stop may wait for the guest
	v = a.waitPhase("ops", string(api.VMStopped), 10*time.Second)
	assert.Equal(t, api.PowerOff, v.Status.PowerState)
	waitPIDGone(t, pid2, 5*time.Second)
	assert.Zero(t, a.qemuPID(v.Metadata.UID))

	out, _, code := a.CLI("", "get", "vmop", "-n", "default")
	require.Equal(t, 0, code)
	for _, n := range []string{"ops-restart", "ops-stop"} {
		assert.Regexp(t, regexp.MustCompile(`(?m)^`+n+`\s+Completed\b`), out)
	}
	assert.Regexp(t, regexp.MustCompile(`(?m)^ops-restart\s+Completed\s+.*Restart\s+ops\b`), out)
	assert.Regexp(t, regexp.MustCompile(`(?m)^ops-stop\s+Completed\s+.*Stop\s+ops\b`), out)
}

// testRestartRightAfterStart: a Restart asked for right after the VM
// started (in the same second as its status.stats.lastStartTime) must
// still give it a new QEMU before it is Completed.
func testRestartRightAfterStart(t *testing.T, a *vmAgent) {
	a.apply(vmYAML("rst", "AlwaysOnUnlessStoppedManually", "ClusterVirtualImage/guest"))
	_, pid := a.runningPID("rst", 0, bootTimeout)
	a.apply(vmopYAML("rst-restart", "Restart", "rst"))
	a.waitVMOP("rst-restart", "Completed", bootTimeout)
	v, _ := a.getVM("rst")
	assert.Equal(t, string(api.VMRunning), v.Status.Phase)
	assert.NotEqual(t, pid, a.qemuPID(v.Metadata.UID), "the Restart is Completed but the VM still runs its first QEMU")
}

// testDelete: a disk attached to a running VM stays Terminating until the
// VM is gone; deleting the running VM stops its QEMU and removes its
// directory and cgroup; then both disappear.
func testDelete(t *testing.T, a *vmAgent) {
	a.apply(blankDiskYAML("del-disk", "64Mi"))
	a.apply(vmYAML("del", "AlwaysOn", "ClusterVirtualImage/guest", "VirtualDisk/del-disk"))
	v, pid := a.runningPID("del", 0, bootTimeout)
	uid := v.Metadata.UID
	dir, cg := a.vmDir(uid), a.cgroupV1("cpu", "vm-"+uid)
	require.DirExists(t, dir)
	require.DirExists(t, cg, "the VM's cgroup")

	_, errOut, code := a.CLI("", "delete", "vd", "del-disk", "-n", "default", "--wait=false")
	require.Equal(t, 0, code, errOut)
	waitDiskPhase(t, a.Agent, "default", "del-disk", api.DiskTerminating, 10*time.Second)
	time.Sleep(2 * time.Second)
	st, ok := diskStatus(t, a.Agent, "default", "del-disk")
	require.True(t, ok, "a disk attached to a running VM was deleted")
	assert.Equal(t, api.DiskTerminating, st.Phase)
	assert.True(t, pidAlive(pid), "deleting the disk stopped the VM")

	_, errOut, code = a.CLI("", "delete", "vm", "del", "-n", "default", "--wait=false")
	require.Equal(t, 0, code, errOut)
	a.waitGone("vm", "del", stopTimeout+30*time.Second)
	waitPIDGone(t, pid, 5*time.Second)
	assert.NoDirExists(t, dir)
	assert.NoDirExists(t, cg)
	a.waitGone("vd", "del-disk", 20*time.Second)
	if st.Volume != nil {
		_, err := os.Stat(st.Volume.Path)
		assert.True(t, os.IsNotExist(err), "disk file %s remains", st.Volume.Path)
	}
}

// TestVMAgentKill9: kill -9 of the agent leaves a running VM alone; the
// restarted agent adopts the same QEMU, and the guest keeps counting.
func TestVMAgentKill9(t *testing.T) {
	t.Parallel()
	a := startVMAgent(t, "k9", true)
	a.apply(vmYAML("surv", "AlwaysOn", "ClusterVirtualImage/guest"))
	v, pid := a.runningPID("surv", 0, bootTimeout)
	con := a.openConsole(v.Metadata.UID)
	before := con.waitTick(0, 30*time.Second)

	a.Kill()
	require.True(t, pidAlive(pid), "QEMU %d died with the agent", pid)
	during := con.waitTick(before, 10*time.Second)
	a.Start()

	require.Eventually(t, func() bool { return strings.Contains(a.Log.String(), "re-attached to running VM") },
		30*time.Second, 100*time.Millisecond, "the agent did not re-attach")
	// Running, the same QEMU, for a while.
	for range 10 {
		v, ok := a.getVM("surv")
		require.True(t, ok)
		require.Equal(t, string(api.VMRunning), v.Status.Phase, "%s", v)
		require.Equal(t, pid, a.qemuPID(v.Metadata.UID), "the QEMU changed")
		time.Sleep(300 * time.Millisecond)
	}
	after := con.waitTick(con.lastTick(), 10*time.Second)
	assert.Greater(t, after, during)
	assert.Greater(t, during, before)
	ticks := con.ticks()
	for i := 1; i < len(ticks); i++ {
		require.Greater(t, ticks[i], ticks[i-1], "the guest's count restarted: %v", ticks)
	}
}
