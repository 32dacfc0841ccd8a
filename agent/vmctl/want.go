package vmctl

import (
	"time"

	"davit/agent/vmop"
	"davit/api"
)

// Want is what a VM should be now.
type Want struct {
	// Run: an instance should be running.
	Run bool
	// Force: stop by killing at once (a forced Stop or Restart).
	Force bool
	// RestartFor, when set, is the UID of a Restart operation in progress:
	// the running instance must be one started for it (status.restartedBy);
	// an older one is stopped first.
	RestartFor string
	// PowerState is status.powerState to record when the VM is next
	// written (an operation's effect outlives the operation).
	PowerState string
	// Why says what decided, for logs.
	Why string
}

// InitialPowerState is the power state of a new VM: off under runPolicy
// Manual (created stopped), on otherwise.
func InitialPowerState(vm *api.VirtualMachine) string {
	if vm.Spec.RunPolicy == api.RunPolicyManual {
		return api.PowerOff
	}
	return api.PowerOn
}

// PowerState is the VM's recorded power state, or its initial one.
func PowerState(vm *api.VirtualMachine) string {
	if vm.Status.PowerState != "" {
		return vm.Status.PowerState
	}
	return InitialPowerState(vm)
}

// Desired is what vm should be given its operations (any, of any VM: the
// ones naming vm are used) at now. Deletion and AlwaysOff stop it; an
// operation in progress decides next; then AlwaysOn runs it; then the power
// state recorded in its status does.
func Desired(vm *api.VirtualMachine, ops []*api.VirtualMachineOperation, now time.Time) Want {
	ps := PowerState(vm)
	switch {
	case vm.Metadata.DeletionTimestamp != nil:
		return Want{PowerState: ps, Why: "deleting"}
	case vm.Spec.RunPolicy == api.RunPolicyAlwaysOff:
		return Want{PowerState: api.PowerOff, Why: "runPolicy AlwaysOff"}
	}
	if op := inProgress(vm, ops, now); op != nil {
		step := vmop.Next(op, vm, now)
		why := "operation " + op.Metadata.Name
		switch step.Action {
		case vmop.ActionStart:
			return Want{Run: true, PowerState: api.PowerOn, Why: why}
		case vmop.ActionStop:
			return Want{PowerState: api.PowerOff, Why: why}
		case vmop.ActionForceStop:
			return Want{Force: true, PowerState: api.PowerOff, Why: why}
		case vmop.ActionRestart:
			return Want{Run: true, RestartFor: string(op.Metadata.UID), PowerState: api.PowerOn, Why: why}
		case vmop.ActionForceRestart:
			return Want{Run: true, Force: true, RestartFor: string(op.Metadata.UID), PowerState: api.PowerOn, Why: why}
		}
	}
	if vm.Spec.RunPolicy == api.RunPolicyAlwaysOn {
		return Want{Run: true, PowerState: api.PowerOn, Why: "runPolicy AlwaysOn"}
	}
	return Want{Run: ps == api.PowerOn, PowerState: ps, Why: "powerState " + ps}
}

// inProgress returns the oldest InProgress operation on vm that has an
// action for the VM controller, or nil.
func inProgress(vm *api.VirtualMachine, ops []*api.VirtualMachineOperation, now time.Time) *api.VirtualMachineOperation {
	var found *api.VirtualMachineOperation
	for _, op := range ops {
		if op.Metadata.Namespace != vm.Metadata.Namespace || op.Spec.VirtualMachineName != vm.Metadata.Name ||
			op.Status.Phase != api.VMOPInProgress || op.Metadata.DeletionTimestamp != nil {
			continue
		}
		if vmop.Next(op, vm, now).Action == vmop.ActionNone {
			continue
		}
		if found == nil || vmop.Older(op, found) {
			found = op
		}
	}
	return found
}

// AfterExit is the power state a VM gets when its QEMU ended on its own
// (not stopped by davit): a guest poweroff turns Manual and
// AlwaysOnUnlessStoppedManually VMs off; a crash turns Manual VMs off; the
// rest stay on and are restarted (with backoff).
func AfterExit(vm *api.VirtualMachine, guestPoweroff bool) string {
	switch vm.Spec.RunPolicy {
	case api.RunPolicyAlwaysOn:
		return api.PowerOn
	case api.RunPolicyManual:
		return api.PowerOff
	}
	if guestPoweroff {
		return api.PowerOff
	}
	return PowerState(vm)
}
