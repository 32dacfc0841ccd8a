package vmop

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"davit/api"
)

var (
	allPolicies = []string{"", api.RunPolicyAlwaysOn, api.RunPolicyAlwaysOff, api.RunPolicyManual, api.RunPolicyAlwaysOnUnlessStoppedManually}
	allPhases   = []api.VMPhase{"", api.VMPending, api.VMStarting, api.VMRunning, api.VMStopping, api.VMStopped,
		api.VMTerminating, api.VMMigrating, api.VMPause, api.VMDegraded}
)

// TestApplicabilityTable checks every (type, force, runPolicy, phase)
// combination against the reference's table, written out here row by row.
func TestApplicabilityTable(t *testing.T) {
	type row struct {
		policies []string
		phases   []api.VMPhase
	}
	// "" policy is AlwaysOnUnlessStoppedManually, "" phase is Pending.
	manualish := []string{"", api.RunPolicyManual, api.RunPolicyAlwaysOnUnlessStoppedManually}
	withAlwaysOn := append([]string{api.RunPolicyAlwaysOn}, manualish...)
	table := map[string]map[bool]row{
		api.VMOPTypeStart: {
			false: {manualish, []api.VMPhase{api.VMStopped, api.VMStopping}},
		},
		api.VMOPTypeStop: {
			false: {manualish, []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause, api.VMPending, ""}},
			true:  {manualish, []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause, api.VMPending, "", api.VMStopping}},
		},
		api.VMOPTypeRestart: {
			false: {withAlwaysOn, []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause}},
			true:  {withAlwaysOn, []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause, api.VMStopping}},
		},
		api.VMOPTypeMigrate: {
			false: {withAlwaysOn, []api.VMPhase{api.VMRunning}},
			true:  {withAlwaysOn, []api.VMPhase{api.VMRunning}},
		},
		api.VMOPTypeEvict: {
			false: {withAlwaysOn, []api.VMPhase{api.VMRunning}},
			true:  {withAlwaysOn, []api.VMPhase{api.VMRunning}},
		},
	}
	for typ, byForce := range table {
		for force, r := range byForce {
			for _, policy := range allPolicies {
				for _, phase := range allPhases {
					op := mkOp("op", typ, force)
					vm := mkVMAt(policy, phase)
					ok, reason := Applicable(op, vm)
					policyOK := contains(r.policies, policy)
					phaseOK := contains(r.phases, phase)
					name := typ + "/" + strconv.FormatBool(force) + "/" + policy + "/" + string(phase)
					switch {
					case !policyOK:
						assert.False(t, ok, name)
						assert.Equal(t, ReasonNotApplicableForRunPolicy, reason, name)
					case !phaseOK:
						assert.False(t, ok, name)
						assert.Equal(t, ReasonNotApplicableForPhase, reason, name)
					default:
						assert.True(t, ok, name)
						assert.Empty(t, reason, name)
					}
				}
			}
		}
	}
}

func TestApplicableOther(t *testing.T) {
	ok, reason := Applicable(mkOp("op", api.VMOPTypeStart, false), nil)
	assert.False(t, ok)
	assert.Equal(t, ReasonVirtualMachineNotFound, reason)

	for _, typ := range []string{api.VMOPTypeRestore, api.VMOPTypeClone} {
		ok, reason = Applicable(mkOp("op", typ, false), mkVMAt(api.RunPolicyAlwaysOff, api.VMTerminating))
		assert.True(t, ok, typ)
		assert.Empty(t, reason, typ)
	}
	ok, reason = Applicable(mkOp("op", "Reboot", false), mkVMAt("", api.VMRunning))
	assert.False(t, ok)
	assert.Equal(t, ReasonOperationFailed, reason)

	_, _, msg := applicable(mkOp("op", api.VMOPTypeStart, false), mkVMAt(api.RunPolicyAlwaysOn, api.VMStopped))
	assert.Equal(t, "Operation type Start is not applicable for VirtualMachine with runPolicy AlwaysOn", msg)
	_, _, msg = applicable(mkOp("op", api.VMOPTypeStop, false), mkVMAt("", ""))
	assert.Empty(t, msg, "an unset phase is Pending, where Stop applies")
	_, _, msg = applicable(mkOp("op", api.VMOPTypeStart, false), mkVMAt("", api.VMRunning))
	assert.Equal(t, "Operation type Start is not applicable for VirtualMachine in phase Running", msg)
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mkOp(name, typ string, force bool) *api.VirtualMachineOperation {
	op := &api.VirtualMachineOperation{Metadata: api.ObjectMeta{Name: name, Namespace: "ns", Generation: 1, UID: "uid-" + name}}
	op.Spec.Type, op.Spec.VirtualMachineName = typ, "vm"
	if force {
		op.Spec.Force = &force
	}
	return op
}

func createdAt(op *api.VirtualMachineOperation, at time.Time) *api.VirtualMachineOperation {
	op.Metadata.CreationTimestamp = api.NewTime(at)
	return op
}

func inPhase(op *api.VirtualMachineOperation, p api.VMOPPhase) *api.VirtualMachineOperation {
	op.Status.Phase = p
	return op
}

func mkVMAt(policy string, phase api.VMPhase) *api.VirtualMachine {
	vm := &api.VirtualMachine{Metadata: api.ObjectMeta{Name: "vm", Namespace: "ns"}}
	vm.Spec.RunPolicy = policy
	vm.Status.Phase = phase
	return vm
}
