package vmop

import (
	"fmt"
	"slices"

	"davit/api"
)

// The applicability table (reference §7): the run policies and VM phases in
// which each operation type may start.
//
//	Type            runPolicy                                    VM phase
//	Start           Manual, AlwaysOnUnlessStoppedManually        Stopped, Stopping
//	Stop            Manual, AlwaysOnUnlessStoppedManually        Running, Degraded, Starting, Pause, Pending (+Stopping if force)
//	Restart         Manual, AlwaysOnUnlessStoppedManually,       Running, Degraded, Starting, Pause (+Stopping if force)
//	                AlwaysOn
//	Migrate, Evict  same as Restart                              Running
//
// Restore and Clone have no row: they apply to any VM.
func allowedRunPolicies(opType string) []string {
	switch opType {
	case api.VMOPTypeStart, api.VMOPTypeStop:
		return []string{api.RunPolicyManual, api.RunPolicyAlwaysOnUnlessStoppedManually}
	case api.VMOPTypeRestart, api.VMOPTypeMigrate, api.VMOPTypeEvict:
		return []string{api.RunPolicyManual, api.RunPolicyAlwaysOnUnlessStoppedManually, api.RunPolicyAlwaysOn}
	}
	return nil
}

func allowedPhases(opType string, force bool) []api.VMPhase {
	switch opType {
	case api.VMOPTypeStart:
		return []api.VMPhase{api.VMStopped, api.VMStopping}
	case api.VMOPTypeStop:
		p := []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause, api.VMPending}
		if force {
			p = append(p, api.VMStopping)
		}
		return p
	case api.VMOPTypeRestart:
		p := []api.VMPhase{api.VMRunning, api.VMDegraded, api.VMStarting, api.VMPause}
		if force {
			p = append(p, api.VMStopping)
		}
		return p
	case api.VMOPTypeMigrate, api.VMOPTypeEvict:
		return []api.VMPhase{api.VMRunning}
	}
	return nil
}

// hasRow reports whether the type has a row in the table.
func hasRow(opType string) bool { return allowedRunPolicies(opType) != nil }

// Applicable reports whether op may start on vm, and if not the Completed
// reason: VirtualMachineNotFound (vm is nil),
// NotApplicableForVirtualMachineRunPolicy or
// NotApplicableForVirtualMachinePhase. An unset runPolicy is the default
// AlwaysOnUnlessStoppedManually, an unset phase is Pending. An unknown type
// is OperationFailed.
func Applicable(op *api.VirtualMachineOperation, vm *api.VirtualMachine) (ok bool, reason string) {
	ok, reason, _ = applicable(op, vm)
	return ok, reason
}

// applicable is Applicable with the message the condition shows.
func applicable(op *api.VirtualMachineOperation, vm *api.VirtualMachine) (bool, string, string) {
	t := op.Spec.Type
	if vm == nil {
		return false, ReasonVirtualMachineNotFound, fmt.Sprintf("VirtualMachine %q not found", op.Spec.VirtualMachineName)
	}
	switch t {
	case api.VMOPTypeRestore, api.VMOPTypeClone:
		return true, "", ""
	}
	if !hasRow(t) {
		return false, ReasonOperationFailed, fmt.Sprintf("unknown operation type %q", t)
	}
	policy := runPolicy(vm)
	if !slices.Contains(allowedRunPolicies(t), policy) {
		return false, ReasonNotApplicableForRunPolicy,
			fmt.Sprintf("Operation type %s is not applicable for VirtualMachine with runPolicy %s", t, policy)
	}
	phase := vmPhase(vm)
	if !slices.Contains(allowedPhases(t, forced(op)), phase) {
		return false, ReasonNotApplicableForPhase,
			fmt.Sprintf("Operation type %s is not applicable for VirtualMachine in phase %s", t, phase)
	}
	return true, "", ""
}

func runPolicy(vm *api.VirtualMachine) string {
	if vm.Spec.RunPolicy == "" {
		return api.RunPolicyAlwaysOnUnlessStoppedManually
	}
	return vm.Spec.RunPolicy
}

func vmPhase(vm *api.VirtualMachine) api.VMPhase {
	if vm.Status.Phase == "" {
		return api.VMPending
	}
	return vm.Status.Phase
}

// conflictingRunPolicy reports whether the VM's run policy, changed while
// the operation ran, now works against it: a Start or Restart of an
// AlwaysOff VM, a Stop of an AlwaysOn VM (it would start again). Other
// changes leave the operation alone: an AlwaysOn VM that is being started
// gets there anyway.
func conflictingRunPolicy(opType, policy string) bool {
	switch opType {
	case api.VMOPTypeStart, api.VMOPTypeRestart:
		return policy == api.RunPolicyAlwaysOff
	case api.VMOPTypeStop:
		return policy == api.RunPolicyAlwaysOn
	}
	return false
}
