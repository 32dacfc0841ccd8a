package vmopctl

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"davit/agent/vmop"
	"davit/api"
	"davit/raftstore"
	"davit/raftstore/raftstoretest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCluster is a one-node Raft store as the controller's Cluster: the
// controller's writes are the real raftstore commands.
type testCluster struct{ *raftstore.Store }

func newTestStore(t *testing.T) *raftstore.Store { return raftstoretest.New(t) }

// fixture is a store, a controller with a settable clock, and helpers.
type fixture struct {
	t   *testing.T
	s   *raftstore.Store
	c   *Controller
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, s: newTestStore(t), now: time.Now().UTC().Truncate(time.Second)}
	cfg := DefaultConfig()
	cfg.GCInterval = time.Nanosecond
	cfg.Now = func() time.Time { return f.now }
	c, err := New(cfg, testCluster{f.s})
	require.NoError(t, err)
	f.c = c
	return f
}

func (f *fixture) apply(cmd raftstore.Command) {
	f.t.Helper()
	res, err := f.s.Apply(context.Background(), cmd)
	require.NoError(f.t, err)
	require.NoError(f.t, res.Err)
}

func (f *fixture) createVM(name, runPolicy string, phase api.VMPhase) {
	f.t.Helper()
	obj := &api.Object{TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: kindVM},
		Metadata: api.ObjectMeta{Namespace: "default", Name: name},
		Spec:     mustJSON(f.t, map[string]any{"runPolicy": runPolicy}),
		Status:   mustJSON(f.t, map[string]any{"phase": phase})}
	f.apply(raftstore.CreateCommand(kindVM, obj))
}

func (f *fixture) setVMPhase(name string, phase api.VMPhase) {
	f.t.Helper()
	obj := &api.Object{Metadata: api.ObjectMeta{Namespace: "default", Name: name},
		Status: mustJSON(f.t, map[string]any{"phase": phase})}
	f.apply(raftstore.UpdateStatusCommand(kindVM, obj))
}

// createOp creates an operation at time at (its creationTimestamp).
func (f *fixture) createOp(name, opType, vm string, force bool, at time.Time) {
	f.t.Helper()
	spec := map[string]any{"type": opType, "virtualMachineName": vm}
	if force {
		spec["force"] = true
	}
	obj := &api.Object{TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: kindVMOP},
		Metadata: api.ObjectMeta{Namespace: "default", Name: name}, Spec: mustJSON(f.t, spec)}
	cmd := raftstore.CreateCommand(kindVMOP, obj)
	cmd.Time = at
	f.apply(cmd)
}

func (f *fixture) op(name string) *api.VirtualMachineOperation {
	f.t.Helper()
	obj, err := f.s.Get(kindVMOP, "default", name)
	require.NoError(f.t, err)
	res, err := api.FromObject(obj)
	require.NoError(f.t, err)
	return res.(*api.VirtualMachineOperation)
}

func (f *fixture) pass() { f.c.Pass(context.Background()) }

// completed is the operation's phase and Completed reason.
func completed(op *api.VirtualMachineOperation) (api.VMOPPhase, string) {
	c := api.FindCondition(op.Status.Conditions, vmop.ConditionCompleted)
	if c == nil {
		return op.Status.Phase, ""
	}
	return op.Status.Phase, c.Reason
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestOperationOnMissingVMFails(t *testing.T) {
	f := newFixture(t)
	f.createOp("start", api.VMOPTypeStart, "nope", false, f.now)
	f.pass()
	p, r := completed(f.op("start"))
	assert.Equal(t, api.VMOPFailed, p)
	assert.Equal(t, vmop.ReasonVirtualMachineNotFound, r)
}

func TestStartOnAlwaysOnVMFails(t *testing.T) {
	f := newFixture(t)
	f.createVM("vm1", api.RunPolicyAlwaysOn, api.VMRunning)
	f.createOp("start", api.VMOPTypeStart, "vm1", false, f.now)
	f.pass()
	op := f.op("start")
	p, r := completed(op)
	assert.Equal(t, api.VMOPFailed, p)
	assert.Equal(t, vmop.ReasonNotApplicableForRunPolicy, r)
	rv := op.Metadata.ResourceVersion
	f.pass()
	assert.Equal(t, rv, f.op("start").Metadata.ResourceVersion, "a finished operation is not written again")
}

func TestStopRunsUntilTheVMStops(t *testing.T) {
	f := newFixture(t)
	f.createVM("vm1", api.RunPolicyManual, api.VMRunning)
	f.createOp("stop", api.VMOPTypeStop, "vm1", false, f.now)
	f.pass()
	op := f.op("stop")
	p, r := completed(op)
	assert.Equal(t, api.VMOPInProgress, p)
	assert.Equal(t, vmop.ReasonStopInProgress, r)
	assert.True(t, api.IsConditionTrue(op.Status.Conditions, vmop.ConditionSignalSent))
	assert.Equal(t, vmop.ActionStop, vmop.Next(op, &api.VirtualMachine{Spec: api.VirtualMachineSpec{RunPolicy: api.RunPolicyManual},
		Status: api.VirtualMachineStatus{Phase: api.VMRunning}}, f.now).Action, "the VM controller's view")

	rv := op.Metadata.ResourceVersion
	f.now = f.now.Add(time.Second)
	f.pass()
	assert.Equal(t, rv, f.op("stop").Metadata.ResourceVersion, "nothing changed, nothing written")

	f.setVMPhase("vm1", api.VMStopped)
	f.pass()
	p, r = completed(f.op("stop"))
	assert.Equal(t, api.VMOPCompleted, p)
	assert.Equal(t, vmop.ReasonOperationCompleted, r)
}

func TestForcedStopSupersedesPendingStop(t *testing.T) {
	f := newFixture(t)
	f.createVM("vm1", api.RunPolicyManual, api.VMRunning)
	f.createOp("stop", api.VMOPTypeStop, "vm1", false, f.now.Add(-2*time.Second))
	f.createOp("kill", api.VMOPTypeStop, "vm1", true, f.now.Add(-time.Second))
	f.pass() // both Pending: the older goes InProgress, the newer supersedes it
	p, r := completed(f.op("stop"))
	assert.Equal(t, api.VMOPSuperseded, p)
	assert.Equal(t, vmop.ReasonSuperseded, r)
	assert.Contains(t, api.FindCondition(f.op("stop").Status.Conditions, vmop.ConditionCompleted).Message, "kill")
	p, _ = completed(f.op("kill"))
	assert.Equal(t, api.VMOPInProgress, p)
}

func TestUnsupersedableOperationWaitsNotReady(t *testing.T) {
	f := newFixture(t)
	f.createVM("vm1", api.RunPolicyManual, api.VMRunning)
	f.createOp("stop", api.VMOPTypeStop, "vm1", true, f.now.Add(-2*time.Second))
	f.pass()
	f.createOp("restart", api.VMOPTypeRestart, "vm1", false, f.now.Add(-time.Second))
	f.pass()
	p, r := completed(f.op("restart"))
	assert.Equal(t, api.VMOPFailed, p)
	assert.Equal(t, vmop.ReasonNotReadyToBeExecuted, r)
	p, _ = completed(f.op("stop"))
	assert.Equal(t, api.VMOPInProgress, p, "a forced Stop is never superseded")
}

func TestGCDeletesOldAndKeepsTenPerVM(t *testing.T) {
	f := newFixture(t)
	f.createOp("ancient", api.VMOPTypeStart, "gone", false, f.now.Add(-25*time.Hour))
	for i := range 12 {
		f.createOp(fmt.Sprintf("op-%02d", i), api.VMOPTypeStart, "gone", false, f.now.Add(time.Duration(i-20)*time.Second))
	}
	f.createOp("other", api.VMOPTypeStart, "elsewhere", false, f.now.Add(-time.Hour))
	f.pass() // every one fails (no VM), then the GC runs on the new phases
	objs, _ := f.s.List(kindVMOP, "default", nil)
	var names []string
	for _, o := range objs {
		names = append(names, o.Metadata.Name)
	}
	assert.ElementsMatch(t, []string{"op-02", "op-03", "op-04", "op-05", "op-06", "op-07", "op-08", "op-09",
		"op-10", "op-11", "other"}, names)
}

func TestRunReconcilesAndStops(t *testing.T) {
	s := newTestStore(t)
	cfg := DefaultConfig()
	cfg.Resync = 20 * time.Millisecond
	c, err := New(cfg, testCluster{s})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	f := &fixture{t: t, s: s}
	f.createOp("start", api.VMOPTypeStart, "nope", false, time.Time{})
	require.Eventually(t, func() bool { return f.op("start").Status.Phase == api.VMOPFailed }, 10*time.Second, 20*time.Millisecond)
	cancel()
	<-done
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	assert.NotContains(t, strings.ReplaceAll(stacks, "vmopctl.TestRunReconcilesAndStops", ""), "davit/agent/vmopctl.",
		"a controller goroutine outlived Run")
}

func TestConfigValidateNamesTheField(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Resync = 0
	_, err := New(cfg, testCluster{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resync: 0s")
}
