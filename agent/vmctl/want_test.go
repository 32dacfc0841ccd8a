package vmctl

import (
	"fmt"
	"testing"
	"time"

	"davit/agent/vmop"
	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantNow is the clock of the Desired tests.
var wantNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// mkVM is a VM in namespace ns with a runPolicy, a recorded power state
// ("" for none) and a phase; deleting sets its deletionTimestamp.
func mkVM(ns, name, runPolicy, power string, phase api.VMPhase, deleting bool) *api.VirtualMachine {
	vm := &api.VirtualMachine{
		TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: "VirtualMachine"},
		Metadata: api.ObjectMeta{Namespace: ns, Name: name, UID: "uid-" + ns + "-" + name, Generation: 1},
		Spec:     api.VirtualMachineSpec{RunPolicy: runPolicy},
		Status:   api.VirtualMachineStatus{Phase: phase, PowerState: power},
	}
	if deleting {
		vm.Metadata.DeletionTimestamp = api.NewTime(wantNow.Add(-time.Second))
	}
	return vm
}

// mkOp is a Pending operation on the VM vmName of namespace ns, created at
// created.
func mkOp(ns, name, typ, vmName string, force bool, created time.Time) *api.VirtualMachineOperation {
	op := &api.VirtualMachineOperation{
		TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: "VirtualMachineOperation"},
		Metadata: api.ObjectMeta{Namespace: ns, Name: name, UID: "op-" + name, Generation: 1, CreationTimestamp: api.NewTime(created)},
		Spec:     api.VirtualMachineOperationSpec{Type: typ, VirtualMachineName: vmName},
	}
	if force {
		op.Spec.Force = &force
	}
	return op
}

// started moves op to InProgress against vm at began, as the VMOP
// controller writes it (vmop.Next, then Step.Apply).
func started(t *testing.T, op *api.VirtualMachineOperation, vm *api.VirtualMachine, began time.Time) *api.VirtualMachineOperation {
	t.Helper()
	step := vmop.Next(op, vm, began)
	require.Equal(t, api.VMOPInProgress, step.Phase, "operation %s on %s: %s", op.Spec.Type, vm.Metadata.Name, step.Message)
	require.True(t, step.Apply(op, began))
	require.True(t, api.IsConditionTrue(op.Status.Conditions, vmop.ConditionSignalSent))
	return op
}

// TestDesiredWithoutOperations covers every runPolicy × recorded power
// state × deletion.
func TestDesiredWithoutOperations(t *testing.T) {
	const (
		unset  = ""
		on     = api.PowerOn
		off    = api.PowerOff
		always = api.RunPolicyAlwaysOn
		never  = api.RunPolicyAlwaysOff
		manual = api.RunPolicyManual
		auto   = api.RunPolicyAlwaysOnUnlessStoppedManually
	)
	cases := []struct {
		policy, power string
		deleting      bool
		run           bool
		wantPower     string
	}{
		{always, unset, false, true, on},
		{always, on, false, true, on},
		{always, off, false, true, on},
		{always, unset, true, false, on},
		{always, on, true, false, on},
		{always, off, true, false, off},

		{never, unset, false, false, off},
		{never, on, false, false, off},
		{never, off, false, false, off},
		{never, unset, true, false, on}, // deletion keeps the (initial) power state
		{never, on, true, false, on},
		{never, off, true, false, off},

		{manual, unset, false, false, off}, // created stopped
		{manual, on, false, true, on},
		{manual, off, false, false, off},
		{manual, unset, true, false, off},
		{manual, on, true, false, on},
		{manual, off, true, false, off},

		{auto, unset, false, true, on},
		{auto, on, false, true, on},
		{auto, off, false, false, off},
		{auto, unset, true, false, on},
		{auto, on, true, false, on},
		{auto, off, true, false, off},

		// An unset runPolicy is the default AlwaysOnUnlessStoppedManually.
		{unset, unset, false, true, on},
		{unset, on, false, true, on},
		{unset, off, false, false, off},
		{unset, unset, true, false, on},
		{unset, on, true, false, on},
		{unset, off, true, false, off},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/power=%s/deleting=%v", or(tc.policy, "unset"), or(tc.power, "unset"), tc.deleting), func(t *testing.T) {
			vm := mkVM("default", "vm1", tc.policy, tc.power, api.VMRunning, tc.deleting)
			got := Desired(vm, nil, wantNow)
			assert.Equal(t, tc.run, got.Run, "Run (why: %s)", got.Why)
			assert.Equal(t, tc.wantPower, got.PowerState, "PowerState (why: %s)", got.Why)
			assert.False(t, got.Force)
			assert.Empty(t, got.RestartFor)
			assert.NotEmpty(t, got.Why)
		})
	}
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

func TestDesiredWithOperations(t *testing.T) {
	began := wantNow.Add(-30*time.Second + 400*time.Millisecond) // stored to the second
	created := began.Add(-time.Second)

	type want struct {
		run, force bool
		power      string
		restart    bool // RestartFor is the op's UID
	}
	cases := []struct {
		name string
		vm   *api.VirtualMachine
		// ops builds the operations; the one whose UID RestartFor must
		// equal is returned as well (nil when none).
		ops  func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation)
		want want
	}{
		{
			name: "Start on a stopped Manual VM runs it",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMStopped, false),
			ops:  one(api.VMOPTypeStart, false),
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "Start on a stopped AlwaysOnUnlessStoppedManually VM runs it",
			vm:   mkVM("default", "vm1", api.RunPolicyAlwaysOnUnlessStoppedManually, api.PowerOff, api.VMStopped, false),
			ops:  one(api.VMOPTypeStart, false),
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "Stop on a running Manual VM stops it gracefully",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops:  one(api.VMOPTypeStop, false),
			want: want{power: api.PowerOff},
		},
		{
			name: "forced Stop kills it",
			vm:   mkVM("default", "vm1", api.RunPolicyAlwaysOnUnlessStoppedManually, api.PowerOn, api.VMRunning, false),
			ops:  one(api.VMOPTypeStop, true),
			want: want{force: true, power: api.PowerOff},
		},
		{
			name: "Restart of a running VM wants an instance started at or after Began",
			vm:   mkVM("default", "vm1", api.RunPolicyAlwaysOn, "", api.VMRunning, false),
			ops:  one(api.VMOPTypeRestart, false),
			want: want{run: true, power: api.PowerOn, restart: true},
		},
		{
			name: "Restart of a Manual VM recorded Off turns it On",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMRunning, false),
			ops:  one(api.VMOPTypeRestart, false),
			want: want{run: true, power: api.PowerOn, restart: true},
		},
		{
			name: "forced Restart",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops:  one(api.VMOPTypeRestart, true),
			want: want{run: true, force: true, power: api.PowerOn, restart: true},
		},
		{
			name: "an operation on another VM of the namespace is ignored",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				other := mkVM("default", "vm2", api.RunPolicyManual, api.PowerOn, api.VMRunning, false)
				return []*api.VirtualMachineOperation{started(t, mkOp("default", "stop", api.VMOPTypeStop, "vm2", true, created), other, began)}, nil
			},
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "an operation on a VM of the same name in another namespace is ignored",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				other := mkVM("prod", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false)
				return []*api.VirtualMachineOperation{started(t, mkOp("prod", "stop", api.VMOPTypeStop, "vm1", false, created), other, began)}, nil
			},
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "a Completed Stop is ignored (the power state it recorded decides)",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				op := started(t, mkOp("default", "stop", api.VMOPTypeStop, "vm1", false, created), vm, began)
				stopped := *vm
				stopped.Status.Phase = api.VMStopped
				step := vmop.Next(op, &stopped, wantNow)
				require.Equal(t, api.VMOPCompleted, step.Phase)
				step.Apply(op, wantNow)
				return []*api.VirtualMachineOperation{op}, nil
			},
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "a Failed Start is ignored",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMStopped, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				op := mkOp("default", "start", api.VMOPTypeStart, "vm1", false, created)
				always := *vm
				always.Spec.RunPolicy = api.RunPolicyAlwaysOn
				step := vmop.Next(op, &always, began) // not applicable under AlwaysOn
				require.Equal(t, api.VMOPFailed, step.Phase)
				step.Apply(op, began)
				return []*api.VirtualMachineOperation{op}, nil
			},
			want: want{power: api.PowerOff},
		},
		{
			name: "a Pending operation is not acted on yet",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMStopped, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				return []*api.VirtualMachineOperation{mkOp("default", "start", api.VMOPTypeStart, "vm1", false, created)}, nil
			},
			want: want{power: api.PowerOff},
		},
		{
			name: "an InProgress operation being deleted is ignored",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMStopped, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				op := started(t, mkOp("default", "start", api.VMOPTypeStart, "vm1", false, created), vm, began)
				op.Metadata.DeletionTimestamp = api.NewTime(wantNow)
				return []*api.VirtualMachineOperation{op}, nil
			},
			want: want{power: api.PowerOff},
		},
		{
			name: "a Restart whose instance is already new is done: nothing to restart",
			vm: func() *api.VirtualMachine {
				vm := mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false)
				vm.Status.Stats = &api.VMStats{LastStartTime: api.NewTime(began.Add(5 * time.Second))}
				vm.Status.RestartedBy = "op-restart" // the instance was started for it
				return vm
			}(),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				old := *vm
				old.Status.Stats, old.Status.RestartedBy = nil, ""
				return []*api.VirtualMachineOperation{started(t, mkOp("default", "restart", api.VMOPTypeRestart, "vm1", false, created), &old, began)}, nil
			},
			want: want{run: true, power: api.PowerOn},
		},
		{
			name: "the oldest of two operations in progress decides",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOn, api.VMRunning, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				restart := started(t, mkOp("default", "b-restart", api.VMOPTypeRestart, "vm1", false, created.Add(-time.Second)), vm, began)
				stop := started(t, mkOp("default", "a-stop", api.VMOPTypeStop, "vm1", false, created), vm, began)
				return []*api.VirtualMachineOperation{stop, restart}, restart
			},
			want: want{run: true, power: api.PowerOn, restart: true},
		},
		{
			name: "runPolicy AlwaysOff beats a Start in progress",
			vm:   mkVM("default", "vm1", api.RunPolicyAlwaysOff, api.PowerOff, api.VMStopped, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				manual := *vm
				manual.Spec.RunPolicy = api.RunPolicyManual
				return []*api.VirtualMachineOperation{started(t, mkOp("default", "start", api.VMOPTypeStart, "vm1", false, created), &manual, began)}, nil
			},
			want: want{power: api.PowerOff},
		},
		{
			name: "deletion beats a Start in progress",
			vm:   mkVM("default", "vm1", api.RunPolicyManual, api.PowerOff, api.VMStopped, true),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				alive := *vm
				alive.Metadata.DeletionTimestamp = nil
				return []*api.VirtualMachineOperation{started(t, mkOp("default", "start", api.VMOPTypeStart, "vm1", false, created), &alive, began)}, nil
			},
			want: want{power: api.PowerOff},
		},
		{
			name: "a Stop whose VM turned AlwaysOn has failed: AlwaysOn runs it",
			vm:   mkVM("default", "vm1", api.RunPolicyAlwaysOn, api.PowerOn, api.VMRunning, false),
			ops: func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
				manual := *vm
				manual.Spec.RunPolicy = api.RunPolicyManual
				return []*api.VirtualMachineOperation{started(t, mkOp("default", "stop", api.VMOPTypeStop, "vm1", false, created), &manual, began)}, nil
			},
			want: want{run: true, power: api.PowerOn},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ops, restartOp := tc.ops(t, tc.vm)
			if tc.want.restart && restartOp == nil {
				restartOp = ops[0]
			}
			got := Desired(tc.vm, ops, wantNow)
			assert.Equal(t, tc.want.run, got.Run, "Run (why: %s)", got.Why)
			assert.Equal(t, tc.want.force, got.Force, "Force (why: %s)", got.Why)
			assert.Equal(t, tc.want.power, got.PowerState, "PowerState (why: %s)", got.Why)
			if tc.want.restart {
				assert.Equal(t, string(restartOp.Metadata.UID), got.RestartFor, "RestartFor names the operation")
				assert.Contains(t, got.Why, restartOp.Metadata.Name)
			} else {
				assert.Empty(t, got.RestartFor)
			}
		})
	}
}

// one returns an ops builder of a single InProgress operation of typ on
// the test VM.
func one(typ string, force bool) func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
	return func(t *testing.T, vm *api.VirtualMachine) ([]*api.VirtualMachineOperation, *api.VirtualMachineOperation) {
		began := wantNow.Add(-30*time.Second + 400*time.Millisecond)
		op := started(t, mkOp(vm.Metadata.Namespace, "op-"+typ, typ, vm.Metadata.Name, force, began.Add(-time.Second)), vm, began)
		return []*api.VirtualMachineOperation{op}, nil
	}
}

func TestAfterExit(t *testing.T) {
	cases := []struct {
		policy, power string
		guestOff      bool
		want          string
	}{
		{api.RunPolicyAlwaysOn, api.PowerOn, true, api.PowerOn},
		{api.RunPolicyAlwaysOn, api.PowerOn, false, api.PowerOn},
		{api.RunPolicyManual, api.PowerOn, true, api.PowerOff},
		{api.RunPolicyManual, api.PowerOn, false, api.PowerOff},
		{api.RunPolicyAlwaysOnUnlessStoppedManually, api.PowerOn, true, api.PowerOff},
		{api.RunPolicyAlwaysOnUnlessStoppedManually, api.PowerOn, false, api.PowerOn},
		{api.RunPolicyAlwaysOnUnlessStoppedManually, "", false, api.PowerOn},
		{"", api.PowerOn, true, api.PowerOff},
		{"", api.PowerOn, false, api.PowerOn},
		{api.RunPolicyAlwaysOff, api.PowerOff, true, api.PowerOff},
		{api.RunPolicyAlwaysOff, api.PowerOff, false, api.PowerOff},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/power=%s/guestPoweroff=%v", or(tc.policy, "unset"), or(tc.power, "unset"), tc.guestOff), func(t *testing.T) {
			vm := mkVM("default", "vm1", tc.policy, tc.power, api.VMRunning, false)
			assert.Equal(t, tc.want, AfterExit(vm, tc.guestOff))
			// What follows: the VM restarts exactly when it should run with
			// that power state.
			vm.Status.PowerState = AfterExit(vm, tc.guestOff)
			restarts := tc.policy == api.RunPolicyAlwaysOn || (tc.policy != api.RunPolicyManual && tc.policy != api.RunPolicyAlwaysOff && !tc.guestOff)
			assert.Equal(t, restarts, Desired(vm, nil, wantNow).Run)
		})
	}
}

func TestPowerState(t *testing.T) {
	cases := []struct {
		policy, recorded string
		initial, current string
	}{
		{api.RunPolicyManual, "", api.PowerOff, api.PowerOff},
		{api.RunPolicyManual, api.PowerOn, api.PowerOff, api.PowerOn},
		{api.RunPolicyAlwaysOn, "", api.PowerOn, api.PowerOn},
		{api.RunPolicyAlwaysOn, api.PowerOff, api.PowerOn, api.PowerOff},
		{api.RunPolicyAlwaysOff, "", api.PowerOn, api.PowerOn},
		{api.RunPolicyAlwaysOnUnlessStoppedManually, "", api.PowerOn, api.PowerOn},
		{api.RunPolicyAlwaysOnUnlessStoppedManually, api.PowerOff, api.PowerOn, api.PowerOff},
		{"", "", api.PowerOn, api.PowerOn},
	}
	for _, tc := range cases {
		t.Run(or(tc.policy, "unset")+"/"+or(tc.recorded, "unset"), func(t *testing.T) {
			vm := mkVM("default", "vm1", tc.policy, tc.recorded, "", false)
			assert.Equal(t, tc.initial, InitialPowerState(vm))
			assert.Equal(t, tc.current, PowerState(vm))
		})
	}
}
