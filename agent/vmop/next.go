package vmop

import (
	"fmt"
	"reflect"
	"time"

	"davit/api"
)

// Action is what the VM controller must do for an InProgress operation.
type Action string

// Actions.
const (
	ActionNone         Action = ""
	ActionStart        Action = "Start"
	ActionStop         Action = "Stop"
	ActionForceStop    Action = "ForceStop"
	ActionRestart      Action = "Restart"
	ActionForceRestart Action = "ForceRestart"
)

// Step is the state an operation should be in: its phase, its Completed
// condition and, while InProgress, what the VM controller must do. Write it
// with Apply.
type Step struct {
	Phase api.VMOPPhase
	// Status, Reason and Message are the Completed condition's.
	Status  api.ConditionStatus
	Reason  string
	Message string
	// Action is set while the phase is InProgress.
	Action Action
	// Began is when the operation went InProgress (second precision, as
	// stored); zero before. A restart is done once the VM's
	// status.stats.lastStartTime is at or after it.
	Began time.Time
	// Supersede names the older operations to mark with SupersededBy
	// before this step is written (set by Reconcile).
	Supersede []string
}

// Next is the state machine: the step op should take given its VM (nil when
// the VM does not exist) at time now. Finished operations keep their state;
// an operation being deleted is Terminating.
//
//   - Pending: the VM must exist, the type must be one this version runs,
//     and the operation must be Applicable; otherwise Failed with the
//     reason. Then InProgress with the action to take.
//   - InProgress: Completed when done (Start: the VM is Running; Stop:
//     Stopped; Restart: Running with status.restartedBy naming op);
//     Failed when the VM disappears, is being deleted (Start, Restart) or
//     its runPolicy changes to one that works against the operation;
//     otherwise still InProgress with the action.
//
// Next does not look at other operations: Reconcile does, for Pending ones.
func Next(op *api.VirtualMachineOperation, vm *api.VirtualMachine, now time.Time) Step {
	switch {
	case op.Metadata.DeletionTimestamp != nil:
		s := current(op)
		s.Phase = api.VMOPTerminating
		return s
	case Finished(op):
		return current(op)
	case op.Status.Phase == api.VMOPInProgress:
		return inProgress(op, vm)
	}
	return pending(op, vm, now)
}

// Reconcile is Next preceded, for a Pending operation, by the admission
// check against the other operations in its namespace: an older
// unfinished operation it may not supersede fails it with
// NotReadyToBeExecuted, and the ones it supersedes are listed in
// Step.Supersede.
func Reconcile(op *api.VirtualMachineOperation, vm *api.VirtualMachine, others []*api.VirtualMachineOperation, now time.Time) Step {
	if op.Metadata.DeletionTimestamp != nil || (op.Status.Phase != "" && op.Status.Phase != api.VMOPPending) {
		return Next(op, vm, now)
	}
	sup, err := Admit(op, others)
	if err != nil {
		return failed(ReasonNotReadyToBeExecuted, err.Error())
	}
	s := Next(op, vm, now)
	if s.Phase == api.VMOPInProgress {
		s.Supersede = sup
	}
	return s
}

// SupersededBy is the step of an operation that newer supersedes.
func SupersededBy(newer *api.VirtualMachineOperation) Step {
	return Step{
		Phase:   api.VMOPSuperseded,
		Status:  api.ConditionTrue,
		Reason:  ReasonSuperseded,
		Message: fmt.Sprintf("Superseded by %s with type %s", newer.Metadata.Name, describe(newer)),
	}
}

func pending(op *api.VirtualMachineOperation, vm *api.VirtualMachine, now time.Time) Step {
	if vm == nil {
		_, reason, msg := applicable(op, vm)
		return failed(reason, msg)
	}
	switch op.Spec.Type {
	case api.VMOPTypeStart, api.VMOPTypeStop, api.VMOPTypeRestart:
	case api.VMOPTypeMigrate, api.VMOPTypeEvict, api.VMOPTypeRestore, api.VMOPTypeClone:
		return failed(ReasonOperationFailed, fmt.Sprintf("davit does not run %s operations yet", op.Spec.Type))
	default:
		return failed(ReasonOperationFailed, fmt.Sprintf("unknown operation type %q", op.Spec.Type))
	}
	if ok, reason, msg := applicable(op, vm); !ok {
		return failed(reason, msg)
	}
	return Step{
		Phase:   api.VMOPInProgress,
		Status:  api.ConditionFalse,
		Reason:  inProgressReason(op.Spec.Type),
		Message: "Waiting for the operation to complete.",
		Action:  action(op),
		Began:   api.NewTime(now).Time,
	}
}

func inProgress(op *api.VirtualMachineOperation, vm *api.VirtualMachine) Step {
	began := Began(op)
	if vm == nil {
		_, reason, msg := applicable(op, vm)
		return failed(reason, msg)
	}
	if done(op, vm, began) {
		return Step{Phase: api.VMOPCompleted, Status: api.ConditionTrue, Reason: ReasonOperationCompleted, Began: began}
	}
	if vm.Metadata.DeletionTimestamp != nil && op.Spec.Type != api.VMOPTypeStop {
		return failed(ReasonOperationFailed, fmt.Sprintf("VirtualMachine %q is being deleted", vm.Metadata.Name))
	}
	if p := runPolicy(vm); conflictingRunPolicy(op.Spec.Type, p) {
		return failed(ReasonOperationFailed, fmt.Sprintf("the VirtualMachine's runPolicy changed to %s while the %s was in progress", p, op.Spec.Type))
	}
	return Step{
		Phase:   api.VMOPInProgress,
		Status:  api.ConditionFalse,
		Reason:  inProgressReason(op.Spec.Type),
		Message: "Waiting for the operation to complete.",
		Action:  action(op),
		Began:   began,
	}
}

func done(op *api.VirtualMachineOperation, vm *api.VirtualMachine, began time.Time) bool {
	switch op.Spec.Type {
	case api.VMOPTypeStart:
		return vm.Status.Phase == api.VMRunning
	case api.VMOPTypeStop:
		return vm.Status.Phase == api.VMStopped
	case api.VMOPTypeRestart:
		return vm.Status.Phase == api.VMRunning && !NeedsRestart(vm, op)
	}
	return false
}

func action(op *api.VirtualMachineOperation) Action {
	f := forced(op)
	switch {
	case op.Spec.Type == api.VMOPTypeStart:
		return ActionStart
	case op.Spec.Type == api.VMOPTypeStop && f:
		return ActionForceStop
	case op.Spec.Type == api.VMOPTypeStop:
		return ActionStop
	case op.Spec.Type == api.VMOPTypeRestart && f:
		return ActionForceRestart
	case op.Spec.Type == api.VMOPTypeRestart:
		return ActionRestart
	}
	return ActionNone
}

func failed(reason, msg string) Step {
	return Step{Phase: api.VMOPFailed, Status: api.ConditionFalse, Reason: reason, Message: msg}
}

// current is the step an operation is already at.
func current(op *api.VirtualMachineOperation) Step {
	s := Step{Phase: op.Status.Phase, Status: api.ConditionUnknown, Reason: ReasonUnknown, Began: Began(op)}
	if c := api.FindCondition(op.Status.Conditions, ConditionCompleted); c != nil {
		s.Status, s.Reason, s.Message = c.Status, c.Reason, c.Message
	}
	return s
}

// Began is when the operation went InProgress: the transition time of its
// SignalSent condition when True, else its creation time; zero when it has
// neither.
func Began(op *api.VirtualMachineOperation) time.Time {
	if c := api.FindCondition(op.Status.Conditions, ConditionSignalSent); c != nil && c.Status == api.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	if ts := op.Metadata.CreationTimestamp; ts != nil {
		return ts.Time
	}
	return time.Time{}
}

// NeedsRestart reports whether the VM's instance is not yet the one op (a
// Restart) asked for: the VM controller records the operation's UID in
// status.restartedBy when it starts the new instance.
func NeedsRestart(vm *api.VirtualMachine, op *api.VirtualMachineOperation) bool {
	return vm.Status.RestartedBy != string(op.Metadata.UID)
}

// Apply writes the step into op's status at time now: phase, the Completed
// condition (and SignalSent, True from the moment the operation goes
// InProgress), observedGeneration. It reports whether anything changed, so
// the controller writes only real changes. Superseded operations keep the
// SignalSent they had.
func (s Step) Apply(op *api.VirtualMachineOperation, now time.Time) (changed bool) {
	st := &op.Status
	before := *st // SetCondition copies, so before.Conditions stays as it was
	st.Phase = s.Phase
	st.ObservedGeneration = op.Metadata.Generation
	status, reason := s.Status, s.Reason
	if status == "" {
		status, reason = api.ConditionUnknown, ReasonUnknown
	}
	st.Conditions = api.SetCondition(st.Conditions, api.Condition{
		Type: ConditionCompleted, Status: status, Reason: reason, Message: s.Message,
		ObservedGeneration: op.Metadata.Generation,
	}, now)
	if s.Phase == api.VMOPInProgress && !api.IsConditionTrue(st.Conditions, ConditionSignalSent) {
		st.Conditions = api.SetCondition(st.Conditions, api.Condition{
			Type: ConditionSignalSent, Status: api.ConditionTrue, Reason: ReasonSignalSentSuccess,
			Message: fmt.Sprintf("Sent signal %q to the VirtualMachine.", op.Spec.Type), ObservedGeneration: op.Metadata.Generation,
		}, now)
	}
	return !reflect.DeepEqual(before, *st)
}
