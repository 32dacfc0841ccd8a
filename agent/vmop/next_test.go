package vmop

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

func started(vm *api.VirtualMachine, at time.Time) *api.VirtualMachine {
	vm.Status.Stats = &api.VMStats{LastStartTime: api.NewTime(at)}
	return vm
}

// restartedFor marks vm's instance as the one started for the Restart
// operation named name (mkOp's UID).
func restartedFor(vm *api.VirtualMachine, name string) *api.VirtualMachine {
	vm.Status.RestartedBy = "uid-" + name
	return vm
}

// running returns op as InProgress since began (what Apply writes).
func running(op *api.VirtualMachineOperation, began time.Time) *api.VirtualMachineOperation {
	s := Next(op, mkVMAt("", startPhase(op.Spec.Type)), began)
	if s.Phase != api.VMOPInProgress {
		panic("not applicable: " + s.Message)
	}
	s.Apply(op, began)
	return op
}

func startPhase(typ string) api.VMPhase {
	if typ == api.VMOPTypeStart {
		return api.VMStopped
	}
	return api.VMRunning
}

func TestNextPending(t *testing.T) {
	cases := []struct {
		name   string
		op     *api.VirtualMachineOperation
		vm     *api.VirtualMachine
		phase  api.VMOPPhase
		reason string
		action Action
	}{
		{"start", mkOp("o", api.VMOPTypeStart, false), mkVMAt(api.RunPolicyManual, api.VMStopped), api.VMOPInProgress, ReasonStartInProgress, ActionStart},
		{"start while stopping", mkOp("o", api.VMOPTypeStart, false), mkVMAt("", api.VMStopping), api.VMOPInProgress, ReasonStartInProgress, ActionStart},
		{"stop", mkOp("o", api.VMOPTypeStop, false), mkVMAt("", api.VMRunning), api.VMOPInProgress, ReasonStopInProgress, ActionStop},
		{"forced stop", mkOp("o", api.VMOPTypeStop, true), mkVMAt("", api.VMStopping), api.VMOPInProgress, ReasonStopInProgress, ActionForceStop},
		{"restart", mkOp("o", api.VMOPTypeRestart, false), mkVMAt(api.RunPolicyAlwaysOn, api.VMRunning), api.VMOPInProgress, ReasonRestartInProgress, ActionRestart},
		{"forced restart", mkOp("o", api.VMOPTypeRestart, true), mkVMAt("", api.VMPause), api.VMOPInProgress, ReasonRestartInProgress, ActionForceRestart},
		{"no VM", mkOp("o", api.VMOPTypeStart, false), nil, api.VMOPFailed, ReasonVirtualMachineNotFound, ActionNone},
		{"run policy", mkOp("o", api.VMOPTypeStop, false), mkVMAt(api.RunPolicyAlwaysOn, api.VMRunning), api.VMOPFailed, ReasonNotApplicableForRunPolicy, ActionNone},
		{"phase", mkOp("o", api.VMOPTypeStart, false), mkVMAt("", api.VMRunning), api.VMOPFailed, ReasonNotApplicableForPhase, ActionNone},
		{"migrate not run yet", mkOp("o", api.VMOPTypeMigrate, false), mkVMAt("", api.VMRunning), api.VMOPFailed, ReasonOperationFailed, ActionNone},
		{"migrate without a VM", mkOp("o", api.VMOPTypeMigrate, false), nil, api.VMOPFailed, ReasonVirtualMachineNotFound, ActionNone},
		{"unknown type", mkOp("o", "Reboot", false), mkVMAt("", api.VMRunning), api.VMOPFailed, ReasonOperationFailed, ActionNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Next(tc.op, tc.vm, t0.Add(300*time.Millisecond))
			assert.Equal(t, tc.phase, s.Phase)
			assert.Equal(t, tc.reason, s.Reason)
			assert.Equal(t, tc.action, s.Action)
			assert.Equal(t, api.ConditionFalse, s.Status)
			if tc.phase == api.VMOPInProgress {
				assert.Equal(t, t0, s.Began, "second precision, as stored")
			} else {
				assert.NotEmpty(t, s.Message)
				assert.True(t, s.Began.IsZero())
			}
		})
	}
	s := Next(mkOp("o", api.VMOPTypeEvict, false), mkVMAt("", api.VMRunning), t0)
	assert.Equal(t, "davit does not run Evict operations yet", s.Message)
}

func TestNextInProgress(t *testing.T) {
	began := t0
	cases := []struct {
		name   string
		op     *api.VirtualMachineOperation
		vm     *api.VirtualMachine
		phase  api.VMOPPhase
		reason string
		action Action
	}{
		{"start: not yet", mkOp("o", api.VMOPTypeStart, false), mkVMAt("", api.VMStarting), api.VMOPInProgress, ReasonStartInProgress, ActionStart},
		{"start: running", mkOp("o", api.VMOPTypeStart, false), mkVMAt("", api.VMRunning), api.VMOPCompleted, ReasonOperationCompleted, ActionNone},
		{"stop: stopping", mkOp("o", api.VMOPTypeStop, false), mkVMAt("", api.VMStopping), api.VMOPInProgress, ReasonStopInProgress, ActionStop},
		{"stop: stopped", mkOp("o", api.VMOPTypeStop, true), mkVMAt("", api.VMStopped), api.VMOPCompleted, ReasonOperationCompleted, ActionNone},
		{"restart: old instance", mkOp("o", api.VMOPTypeRestart, false), started(mkVMAt("", api.VMRunning), began.Add(-time.Second)), api.VMOPInProgress, ReasonRestartInProgress, ActionRestart},
		{"restart: no start time", mkOp("o", api.VMOPTypeRestart, true), mkVMAt("", api.VMRunning), api.VMOPInProgress, ReasonRestartInProgress, ActionForceRestart},
		{"restart: new instance starting", mkOp("o", api.VMOPTypeRestart, false), restartedFor(mkVMAt("", api.VMStarting), "o"), api.VMOPInProgress, ReasonRestartInProgress, ActionRestart},
		{"restart: new instance running", mkOp("o", api.VMOPTypeRestart, false), restartedFor(mkVMAt("", api.VMRunning), "o"), api.VMOPCompleted, ReasonOperationCompleted, ActionNone},
		{"restart: an instance started in the same second, before the operation", mkOp("o", api.VMOPTypeRestart, true), started(mkVMAt("", api.VMRunning), began), api.VMOPInProgress, ReasonRestartInProgress, ActionForceRestart},
		{"restart: an instance of an earlier restart", mkOp("o", api.VMOPTypeRestart, false), restartedFor(mkVMAt("", api.VMRunning), "earlier"), api.VMOPInProgress, ReasonRestartInProgress, ActionRestart},
		{"VM gone", mkOp("o", api.VMOPTypeStop, false), nil, api.VMOPFailed, ReasonVirtualMachineNotFound, ActionNone},
		{"start: VM being deleted", mkOp("o", api.VMOPTypeStart, false), deleting(mkVMAt("", api.VMTerminating)), api.VMOPFailed, ReasonOperationFailed, ActionNone},
		{"stop: VM being deleted keeps going", mkOp("o", api.VMOPTypeStop, false), deleting(mkVMAt("", api.VMTerminating)), api.VMOPInProgress, ReasonStopInProgress, ActionStop},
		{"start: runPolicy now AlwaysOff", mkOp("o", api.VMOPTypeStart, false), mkVMAt(api.RunPolicyAlwaysOff, api.VMStarting), api.VMOPFailed, ReasonOperationFailed, ActionNone},
		{"restart: runPolicy now AlwaysOff", mkOp("o", api.VMOPTypeRestart, false), mkVMAt(api.RunPolicyAlwaysOff, api.VMStopping), api.VMOPFailed, ReasonOperationFailed, ActionNone},
		{"stop: runPolicy now AlwaysOn", mkOp("o", api.VMOPTypeStop, false), mkVMAt(api.RunPolicyAlwaysOn, api.VMStopping), api.VMOPFailed, ReasonOperationFailed, ActionNone},
		{"start: runPolicy now AlwaysOn keeps going", mkOp("o", api.VMOPTypeStart, false), mkVMAt(api.RunPolicyAlwaysOn, api.VMStarting), api.VMOPInProgress, ReasonStartInProgress, ActionStart},
		{"stop: runPolicy now AlwaysOff keeps going", mkOp("o", api.VMOPTypeStop, false), mkVMAt(api.RunPolicyAlwaysOff, api.VMStopping), api.VMOPInProgress, ReasonStopInProgress, ActionStop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := running(tc.op, began)
			s := Next(op, tc.vm, began.Add(time.Minute))
			assert.Equal(t, tc.phase, s.Phase)
			assert.Equal(t, tc.reason, s.Reason)
			assert.Equal(t, tc.action, s.Action)
			if tc.phase == api.VMOPCompleted {
				assert.Equal(t, api.ConditionTrue, s.Status)
			} else {
				assert.Equal(t, api.ConditionFalse, s.Status)
			}
			if tc.phase == api.VMOPInProgress {
				assert.Equal(t, began, s.Began)
			}
		})
	}
}

func deleting(vm *api.VirtualMachine) *api.VirtualMachine {
	vm.Metadata.DeletionTimestamp = api.NewTime(t0)
	return vm
}

func TestNextFinishedAndTerminating(t *testing.T) {
	for _, phase := range []api.VMOPPhase{api.VMOPCompleted, api.VMOPFailed, api.VMOPSuperseded} {
		op := mkOp("o", api.VMOPTypeStart, false)
		Step{Phase: phase, Status: api.ConditionTrue, Reason: "X", Message: "m"}.Apply(op, t0.Add(-time.Hour))
		s := Next(op, mkVMAt("", api.VMStopped), t0)
		assert.Equal(t, Step{Phase: phase, Status: api.ConditionTrue, Reason: "X", Message: "m"}, s, phase)
		assert.False(t, s.Apply(op, t0), "a finished operation does not change")
	}
	op := running(mkOp("o", api.VMOPTypeStop, false), t0)
	op.Metadata.DeletionTimestamp = api.NewTime(t0)
	s := Next(op, mkVMAt("", api.VMRunning), t0)
	assert.Equal(t, api.VMOPTerminating, s.Phase)
	assert.Equal(t, ReasonStopInProgress, s.Reason)
	assert.Equal(t, ActionNone, s.Action, "a Terminating operation asks nothing of the VM")
}

func TestApply(t *testing.T) {
	op := mkOp("o", api.VMOPTypeRestart, false)
	op.Metadata.CreationTimestamp = api.NewTime(t0.Add(-time.Hour))
	vm := started(mkVMAt("", api.VMRunning), t0.Add(-time.Hour))

	s := Next(op, vm, t0)
	require.True(t, s.Apply(op, t0))
	assert.Equal(t, api.VMOPInProgress, op.Status.Phase)
	assert.Equal(t, int64(1), op.Status.ObservedGeneration)
	c := api.FindCondition(op.Status.Conditions, ConditionCompleted)
	require.NotNil(t, c)
	assert.Equal(t, ReasonRestartInProgress, c.Reason)
	sig := api.FindCondition(op.Status.Conditions, ConditionSignalSent)
	require.NotNil(t, sig)
	assert.Equal(t, api.ConditionTrue, sig.Status)
	assert.Equal(t, t0, Began(op))

	// Level-triggered: the same step again changes nothing, later too.
	s = Next(op, vm, t0.Add(time.Minute))
	assert.False(t, s.Apply(op, t0.Add(time.Minute)))
	assert.Equal(t, t0, Began(op), "began stays when the operation goes on")

	vm = restartedFor(started(mkVMAt("", api.VMRunning), t0.Add(5*time.Second)), op.Metadata.Name)
	s = Next(op, vm, t0.Add(10*time.Second))
	require.True(t, s.Apply(op, t0.Add(10*time.Second)))
	assert.Equal(t, api.VMOPCompleted, op.Status.Phase)
	c = api.FindCondition(op.Status.Conditions, ConditionCompleted)
	assert.Equal(t, api.ConditionTrue, c.Status)
	assert.Equal(t, ReasonOperationCompleted, c.Reason)
	assert.Equal(t, t0.Add(10*time.Second), c.LastTransitionTime.Time)
	assert.Equal(t, t0, Began(op), "SignalSent keeps its time")

	// Began falls back to the creation time, then zero.
	assert.Equal(t, t0.Add(-time.Hour), Began(mkOpCreated(t0.Add(-time.Hour))))
	assert.True(t, Began(mkOp("o", api.VMOPTypeStart, false)).IsZero())

	// A Pending operation written for the first time gets Completed=Unknown.
	fresh := mkOp("p", api.VMOPTypeStart, false)
	require.True(t, Step{Phase: api.VMOPPending}.Apply(fresh, t0))
	c = api.FindCondition(fresh.Status.Conditions, ConditionCompleted)
	assert.Equal(t, api.ConditionUnknown, c.Status)
	assert.Equal(t, ReasonUnknown, c.Reason)
	assert.Nil(t, api.FindCondition(fresh.Status.Conditions, ConditionSignalSent))
}

func mkOpCreated(at time.Time) *api.VirtualMachineOperation {
	return createdAt(mkOp("o", api.VMOPTypeStart, false), at)
}

func TestNeedsRestart(t *testing.T) {
	op := mkOp("o", api.VMOPTypeRestart, false)
	op.Metadata.UID = "op-1"
	vm := mkVMAt("", api.VMRunning)
	assert.True(t, NeedsRestart(vm, op), "an instance started for no operation")
	vm.Status.RestartedBy = "op-0"
	assert.True(t, NeedsRestart(vm, op), "an instance started for an earlier restart")
	vm.Status.RestartedBy = "op-1"
	assert.False(t, NeedsRestart(vm, op), "the instance started for this operation, whatever the clock says")
}

func TestReconcile(t *testing.T) {
	stop := inPhase(createdAt(mkOp("stop", api.VMOPTypeStop, false), t0.Add(-time.Minute)), api.VMOPInProgress)
	forced := inPhase(createdAt(mkOp("forced", api.VMOPTypeStop, true), t0.Add(-time.Minute)), api.VMOPInProgress)
	vm := mkVMAt("", api.VMRunning)

	t.Run("supersedes", func(t *testing.T) {
		op := createdAt(mkOp("new", api.VMOPTypeRestart, true), t0)
		s := Reconcile(op, vm, []*api.VirtualMachineOperation{stop, op}, t0)
		assert.Equal(t, api.VMOPInProgress, s.Phase)
		assert.Equal(t, []string{"stop"}, s.Supersede)

		old := SupersededBy(op)
		assert.Equal(t, Step{Phase: api.VMOPSuperseded, Status: api.ConditionTrue, Reason: ReasonSuperseded,
			Message: "Superseded by new with type forced Restart"}, old)
	})
	t.Run("not ready to be executed", func(t *testing.T) {
		op := createdAt(mkOp("new", api.VMOPTypeRestart, false), t0)
		s := Reconcile(op, vm, []*api.VirtualMachineOperation{forced}, t0)
		assert.Equal(t, api.VMOPFailed, s.Phase)
		assert.Equal(t, ReasonNotReadyToBeExecuted, s.Reason)
		assert.Contains(t, s.Message, "forced (forced Stop, InProgress)")
		assert.Empty(t, s.Supersede)
	})
	t.Run("a failed Pending operation supersedes nothing", func(t *testing.T) {
		op := createdAt(mkOp("new", api.VMOPTypeStop, true), t0)
		s := Reconcile(op, nil, []*api.VirtualMachineOperation{stop}, t0)
		assert.Equal(t, ReasonVirtualMachineNotFound, s.Reason)
		assert.Empty(t, s.Supersede)
	})
	t.Run("an InProgress operation is not checked again", func(t *testing.T) {
		op := running(createdAt(mkOp("new", api.VMOPTypeStop, false), t0), t0)
		s := Reconcile(op, vm, []*api.VirtualMachineOperation{forced}, t0)
		assert.Equal(t, api.VMOPInProgress, s.Phase)
	})
}
