package vmop

import "davit/api"

// Condition types of an operation.
const (
	ConditionCompleted  = "Completed"
	ConditionSignalSent = "SignalSent"
)

// Reasons of the Completed condition (reference §7).
const (
	ReasonUnknown                   = "Unknown"
	ReasonVirtualMachineNotFound    = "VirtualMachineNotFound"
	ReasonNotApplicableForRunPolicy = "NotApplicableForVirtualMachineRunPolicy"
	ReasonNotApplicableForPhase     = "NotApplicableForVirtualMachinePhase"
	ReasonNotReadyToBeExecuted      = "NotReadyToBeExecuted"
	ReasonSuperseded                = "Superseded"
	ReasonStartInProgress           = "StartInProgress"
	ReasonStopInProgress            = "StopInProgress"
	ReasonRestartInProgress         = "RestartInProgress"
	ReasonOperationCompleted        = "OperationCompleted"
	ReasonOperationFailed           = "OperationFailed"
)

// Reasons of the SignalSent condition.
const (
	ReasonSignalSentSuccess = "SignalSentSuccess"
)

// Finished reports whether the operation reached a final phase: Completed,
// Failed or Superseded.
func Finished(op *api.VirtualMachineOperation) bool {
	switch op.Status.Phase {
	case api.VMOPCompleted, api.VMOPFailed, api.VMOPSuperseded:
		return true
	}
	return false
}

// forced reports spec.force.
func forced(op *api.VirtualMachineOperation) bool {
	return op.Spec.Force != nil && *op.Spec.Force
}

// inProgressReason is the Completed reason while the operation runs.
func inProgressReason(opType string) string {
	switch opType {
	case api.VMOPTypeStart:
		return ReasonStartInProgress
	case api.VMOPTypeStop:
		return ReasonStopInProgress
	case api.VMOPTypeRestart:
		return ReasonRestartInProgress
	}
	return ReasonUnknown
}
