package vmctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/qemu"
	"davit/qemu/qemutest"
	"davit/raftstore"
	"davit/raftstore/raftstoretest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// storeCluster is the agent as the controller sees it, backed by a real
// single-node Raft store: every write the controller makes is a real
// raftstore command. It is always caught up.
type storeCluster struct{ *raftstore.Store }

func (storeCluster) CaughtUp() bool { return true }

func newStore(t *testing.T) *raftstore.Store { return raftstoretest.New(t) }

// create stores r (spec and status as given).
func create(t *testing.T, s *raftstore.Store, r api.Resource) {
	t.Helper()
	obj, err := api.ToObject(r)
	require.NoError(t, err)
	res, err := s.Apply(context.Background(), raftstore.CreateCommand(obj.Kind, obj))
	require.NoError(t, err)
	require.NoError(t, res.Err)
}

// mapBlobs is a Blobs serving fixed files by digest.
type mapBlobs map[string]string

func (b mapBlobs) LocalBlob(_ context.Context, digest string) (string, error) {
	if p, ok := b[digest]; ok {
		return p, nil
	}
	return "", fmt.Errorf("blob %s: %w", digest, os.ErrNotExist)
}

// lockedBuffer collects the controller's log, shown when the test fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// killOnCleanup kills pid, when still alive, at the end of the test and
// reaps it if it is our child.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for deadline := time.Now().Add(5 * time.Second); alive(pid) && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	})
}

const guestDigest = "sha256:5f0c0ffee5f0c0ffee5f0c0ffee5f0c0ffee5f0c0ffee5f0c0ffee5f0c0ffee"

// runFixture is a one-node cluster with a Node, the generic class, a Ready
// CVI of the test guest's ISO and an AlwaysOn VM booting from it.
type runFixture struct {
	t     *testing.T
	store *raftstore.Store
	cfg   Config
	log   *lockedBuffer
	guest qemutest.GuestFiles
}

func newRunFixture(t *testing.T, mutate ...func(vm *api.VirtualMachine)) *runFixture {
	qemutest.NeedQEMU(t)
	guest := qemutest.Guest(t)
	f := &runFixture{t: t, store: newStore(t), log: &lockedBuffer{}, guest: guest}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("controller log:\n%s", f.log.String())
		}
	})

	cfg := DefaultConfig(qemutest.ShortDir(t))
	cfg.NodeName = "n1"
	cfg.Accelerator = qemu.AccelTCG
	cfg.Blobs = mapBlobs{guestDigest: guest.ISO}
	cfg.Cgroups = nil
	cfg.Resync = 50 * time.Millisecond
	cfg.BackoffMin, cfg.BackoffMax = 100*time.Millisecond, time.Second
	cfg.QEMU.StartTimeout = 60 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.cfg = cfg

	node := &api.Node{
		TypeMeta: api.TypeMeta{APIVersion: api.DavitVersion, Kind: "Node"},
		Metadata: api.ObjectMeta{Name: "n1"},
		Status: api.NodeStatus{
			Capacity:    api.ResourceAmounts{CPU: api.IntOrStringFromInt(4), Memory: api.MustParseQuantity("8Gi")},
			Allocatable: api.ResourceAmounts{CPU: api.IntOrStringFromInt(4), Memory: api.MustParseQuantity("8Gi")},
			Conditions:  []api.Condition{{Type: "Ready", Status: api.ConditionTrue, Reason: "AgentReady"}},
		},
	}
	create(t, f.store, node)

	var generic *api.VirtualMachineClass
	for _, c := range api.PredefinedClasses() {
		if c.Metadata.Name == "generic" {
			generic = c
		}
	}
	require.NotNil(t, generic)
	generic.Status = api.VirtualMachineClassStatus{Phase: api.ClassReady, AvailableNodes: []string{"n1"}}
	create(t, f.store, generic)

	cvi := &api.ClusterVirtualImage{
		TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: api.KindClusterVirtualImage},
		Metadata: api.ObjectMeta{Name: "guest-iso"},
		Spec: api.ClusterVirtualImageSpec{DataSource: api.DataSource{Type: api.DataSourceTypeHTTP,
			HTTP: &api.DataSourceHTTP{URL: "http://images.example/guest.iso"}}},
	}
	obj, err := api.ToObject(cvi)
	require.NoError(t, err)
	obj.Status = mustMarshal(t, imagectl.Status{
		ImageStatus: api.ImageStatus{Phase: api.ImageReady, Format: "iso", CDROM: true},
		Blob:        &imagectl.BlobState{Digest: guestDigest, Holders: []string{"n1"}},
	})
	res, err := f.store.Apply(context.Background(), raftstore.CreateCommand(obj.Kind, obj))
	require.NoError(t, err)
	require.NoError(t, res.Err)

	vm := &api.VirtualMachine{
		TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: "VirtualMachine"},
		Metadata: api.ObjectMeta{Namespace: "default", Name: "vm1"},
		Spec: api.VirtualMachineSpec{
			VirtualMachineClassName: "generic",
			CPU:                     api.VMCPU{Cores: 1, CoreFraction: "100%"},
			Memory:                  api.VMMemory{Size: api.MustParseQuantity("256Mi")},
			BlockDeviceRefs:         []api.BlockDeviceRef{{Kind: api.KindClusterVirtualImage, Name: "guest-iso"}},
			RunPolicy:               api.RunPolicyAlwaysOn,
			Bootloader:              api.BootloaderBIOS,
		},
	}
	for _, m := range mutate {
		m(vm)
	}
	create(t, f.store, vm)
	return f
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// vm reads the VM from the store.
func (f *runFixture) vm() *api.VirtualMachine {
	f.t.Helper()
	o, err := f.store.Get("VirtualMachine", "default", "vm1")
	require.NoError(f.t, err)
	vm, err := decodeVM(o)
	require.NoError(f.t, err)
	return vm
}

// run starts a controller's Run; the returned func cancels it and waits
// for Run to return (also done at cleanup).
func (f *runFixture) run() (*Controller, func()) {
	f.t.Helper()
	c, err := New(f.cfg, storeCluster{f.store})
	require.NoError(f.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(f.t, err)
			case <-time.After(30 * time.Second):
				f.t.Error("Run did not return within 30 s of its context's end")
			}
		})
	}
	f.t.Cleanup(stop)
	return c, stop
}

// pidFile is the PID in the VM's pidfile, 0 when there is none.
func (f *runFixture) pidFile(uid string) int {
	b, err := os.ReadFile(f.cfg.QEMU.Paths(uid).PIDFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// waitRunning waits until the VM is Running on n1 with a live QEMU other
// than notPID, and returns that QEMU's PID.
func (f *runFixture) waitRunning(c *Controller, notPID int) (*api.VirtualMachine, int) {
	f.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		vm := f.vm()
		if vm.Status.Phase == api.VMRunning && vm.Status.NodeName == "n1" {
			if inst := c.Running(vm.Metadata.UID); inst != nil && inst.PID() != notPID {
				if pid := inst.PID(); f.pidFile(vm.Metadata.UID) == pid && alive(pid) {
					killOnCleanup(f.t, pid)
					return vm, pid
				}
			}
		}
		if time.Now().After(deadline) {
			st, _ := json.MarshalIndent(vm.Status, "", "  ")
			require.FailNow(f.t, "the VM is not Running with a new QEMU after 90 s", "status: %s", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRunStartsRestartsAndDetaches runs the controller against real QEMU:
// an AlwaysOn VM is placed on the node and started from its CVI's blob; a
// killed QEMU is started again; when Run ends, QEMU keeps running and a new
// controller re-attaches to it without restarting it.
func TestRunStartsRestartsAndDetaches(t *testing.T) {
	f := newRunFixture(t)
	c, stop := f.run()

	vm, pid1 := f.waitRunning(c, 0)
	uid := vm.Metadata.UID
	t.Cleanup(func() { _ = os.RemoveAll(f.cfg.QEMU.Paths(uid).Dir) })

	assert.Equal(t, "n1", vm.Status.NodeName)
	assert.Equal(t, api.PowerOn, vm.Status.PowerState)
	assert.Contains(t, vm.Metadata.Finalizers, Finalizer, "the leader adds the finalizer")
	assert.True(t, api.IsConditionTrue(vm.Status.Conditions, condRunning))
	assert.True(t, api.IsConditionTrue(vm.Status.Conditions, condBlockDevicesReady))
	require.NotEmpty(t, vm.Status.BootSpec)
	var boot qemu.Spec
	require.NoError(t, json.Unmarshal(vm.Status.BootSpec, &boot))
	assert.Equal(t, uid, boot.UID)
	assert.Equal(t, "default.vm1", boot.Name)
	assert.Equal(t, int64(256<<20), boot.MemoryBytes)
	assert.Equal(t, qemu.AccelTCG, boot.Accelerator)
	require.Len(t, boot.BlockDevices, 1)
	assert.Equal(t, qemu.BlockDevice{Name: "ClusterVirtualImage/guest-iso", Path: f.guest.ISO, Format: qemu.FormatRaw,
		ReadOnly: true, CDROM: true, BootIndex: 1}, boot.BlockDevices[0])
	require.NotNil(t, vm.Status.Resources)
	assert.Equal(t, "1000m", vm.Status.Resources.CPU.RequestedCores)
	assert.Equal(t, []api.BlockDeviceStatusRef{{Kind: api.KindClusterVirtualImage, Name: "guest-iso", Attached: true,
		Target: "disk0", BootOrder: 1}}, vm.Status.BlockDeviceRefs)
	require.NotNil(t, vm.Status.Stats)
	assert.NotNil(t, vm.Status.Stats.LastStartTime)
	assert.Equal(t, []api.VMPhase{api.VMPending, api.VMStarting, api.VMRunning}, phases(vm))

	// Kill QEMU behind the controller's back: it is a crash, and AlwaysOn
	// starts the VM again (after BackoffMin).
	require.NoError(t, syscall.Kill(pid1, syscall.SIGKILL))
	vm, pid2 := f.waitRunning(c, pid1)
	assert.NotEqual(t, pid1, pid2)
	assert.False(t, alive(pid1))
	assert.Equal(t, []api.VMPhase{api.VMPending, api.VMStarting, api.VMRunning, api.VMStarting, api.VMRunning}, phases(vm),
		"the crash shows as Starting, then Running again")
	assert.Equal(t, api.PowerOn, vm.Status.PowerState)
	assert.Equal(t, "n1", vm.Status.NodeName)

	// Ending Run detaches: QEMU keeps running.
	stop()
	time.Sleep(300 * time.Millisecond)
	assert.True(t, alive(pid2), "QEMU must outlive the controller's Run")
	assert.Equal(t, pid2, f.pidFile(uid))
	assert.Equal(t, api.VMRunning, f.vm().Status.Phase)

	// A new controller (an agent restart) re-attaches to the same QEMU.
	c2, stop2 := f.run()
	require.Eventually(t, func() bool {
		inst := c2.Running(uid)
		return inst != nil && inst.PID() == pid2
	}, 30*time.Second, 50*time.Millisecond, "the new controller never adopted QEMU %d", pid2)
	time.Sleep(500 * time.Millisecond) // a few passes
	assert.True(t, alive(pid2))
	assert.Equal(t, pid2, c2.Running(uid).PID(), "the adopted QEMU is kept, not restarted")
	vm = f.vm()
	assert.Equal(t, api.VMRunning, vm.Status.Phase)
	assert.Len(t, phases(vm), 5, "no phase change on re-attach")
	stop2()
	assert.True(t, alive(pid2))
}

// phases lists the VM's recorded phase transitions.
func phases(vm *api.VirtualMachine) []api.VMPhase {
	if vm.Status.Stats == nil {
		return nil
	}
	var out []api.VMPhase
	for _, p := range vm.Status.Stats.PhasesTransitions {
		out = append(out, p.Phase)
	}
	return out
}

// apply commits cmd, which must succeed.
func (f *runFixture) apply(cmd raftstore.Command) {
	f.t.Helper()
	res, err := f.store.Apply(context.Background(), cmd)
	require.NoError(f.t, err)
	require.NoError(f.t, res.Err)
}

// setRunPolicy changes the VM's spec.runPolicy as a user would.
func (f *runFixture) setRunPolicy(policy string) {
	f.t.Helper()
	vm := f.vm()
	vm.Spec.RunPolicy = policy
	obj, err := api.ToObject(vm)
	require.NoError(f.t, err)
	f.apply(raftstore.PutCommand(obj.Kind, obj))
}

// waitGone waits until the VM is no longer stored.
func (f *runFixture) waitGone() {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		_, err := f.store.Get("VirtualMachine", "default", "vm1")
		return errors.Is(err, raftstore.ErrNotFound)
	}, 60*time.Second, 50*time.Millisecond, "the deleted VM was never removed")
}

func shortGrace(vm *api.VirtualMachine) {
	g := int64(1)
	vm.Spec.TerminationGracePeriodSeconds = &g
}

// TestRunDeletesARunningVM: deleting a running VM stops its QEMU, removes
// its directory and then its finalizer.
func TestRunDeletesARunningVM(t *testing.T) {
	f := newRunFixture(t, shortGrace)
	c, _ := f.run()
	vm, pid := f.waitRunning(c, 0)
	dir := f.cfg.QEMU.Paths(vm.Metadata.UID).Dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	f.apply(raftstore.DeleteCommand("VirtualMachine", "default", "vm1", ""))
	f.waitGone()
	assert.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond, "QEMU still runs")
	assert.NoDirExists(t, dir)
	assert.Nil(t, c.Running(vm.Metadata.UID))
}

// TestRunStopThenDelete: a VM stopped by its runPolicy is handed back
// (Stopped, no node); deleting it afterwards must still remove its
// directory on the node it last ran on (the Finalizer's promise: "until
// its QEMU is stopped and its files and cgroup are gone").
func TestRunStopThenDelete(t *testing.T) {
	f := newRunFixture(t, shortGrace)
	c, _ := f.run()
	vm, pid := f.waitRunning(c, 0)
	uid := vm.Metadata.UID
	dir := f.cfg.QEMU.Paths(uid).Dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	f.setRunPolicy(api.RunPolicyAlwaysOff)
	require.Eventually(t, func() bool {
		vm := f.vm()
		return vm.Status.Phase == api.VMStopped && vm.Status.NodeName == ""
	}, 30*time.Second, 50*time.Millisecond, "the VM was never handed back Stopped")
	assert.False(t, alive(pid), "QEMU still runs after the stop")
	vm = f.vm()
	assert.Equal(t, api.PowerOff, vm.Status.PowerState)
	assert.False(t, api.IsConditionTrue(vm.Status.Conditions, condRunning))
	for _, bd := range vm.Status.BlockDeviceRefs {
		assert.False(t, bd.Attached, "%s/%s still attached", bd.Kind, bd.Name)
	}
	assert.Nil(t, c.Running(uid))

	f.apply(raftstore.DeleteCommand("VirtualMachine", "default", "vm1", ""))
	f.waitGone()
	assert.Eventually(t, func() bool {
		_, err := os.Stat(dir)
		return errors.Is(err, os.ErrNotExist)
	}, 5*time.Second, 50*time.Millisecond, "bug: %s of the deleted VM is left on the node (handBack keeps it; the leader then removes the finalizer of a VM with no node, and no one removes it)", dir)
}
