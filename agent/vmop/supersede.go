package vmop

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"davit/api"
)

// ErrNotReadyToBeExecuted rejects an operation while an older unfinished one
// on the same VM exists that it may not supersede.
var ErrNotReadyToBeExecuted = errors.New("an earlier operation on the virtual machine must finish first")

// Supersedes reports whether newer, created after older on the same VM, may
// end older (reference §7):
//
//	Start                ← Stop (forced or not)
//	Stop (not forced)    ← forced Stop, forced Restart
//	Restart (not forced) ← forced Stop, forced Restart
//	Migrate, Evict       ← any Stop or Restart
//	forced Stop, forced Restart, Restore, Clone: never superseded
//
// Operations on different VMs never supersede each other.
//
// This follows the reference, which differs from the upstream controller
// code (where a Restart also supersedes a Start, and a Restart is
// superseded by any Stop).
func Supersedes(newer, older *api.VirtualMachineOperation) bool {
	if newer == nil || older == nil || !sameVM(newer, older) {
		return false
	}
	nt, nf := newer.Spec.Type, forced(newer)
	switch older.Spec.Type {
	case api.VMOPTypeStart:
		return nt == api.VMOPTypeStop
	case api.VMOPTypeStop, api.VMOPTypeRestart:
		return !forced(older) && nf && (nt == api.VMOPTypeStop || nt == api.VMOPTypeRestart)
	case api.VMOPTypeMigrate, api.VMOPTypeEvict:
		return nt == api.VMOPTypeStop || nt == api.VMOPTypeRestart
	}
	return false
}

func sameVM(a, b *api.VirtualMachineOperation) bool {
	return a.Metadata.Namespace == b.Metadata.Namespace && a.Spec.VirtualMachineName == b.Spec.VirtualMachineName
}

func sameOp(a, b *api.VirtualMachineOperation) bool {
	if a.Metadata.UID != "" && b.Metadata.UID != "" {
		return a.Metadata.UID == b.Metadata.UID
	}
	return a.Metadata.Namespace == b.Metadata.Namespace && a.Metadata.Name == b.Metadata.Name
}

// Older reports whether a was created before b: by creationTimestamp, then
// by name. An operation not stored yet (no timestamp, as at admission) is
// newer than every stored one.
func Older(a, b *api.VirtualMachineOperation) bool {
	at, bt := a.Metadata.CreationTimestamp, b.Metadata.CreationTimestamp
	switch {
	case bt == nil && at != nil:
		return true
	case at == nil && bt != nil:
		return false
	case at != nil && !at.Equal(bt.Time):
		return at.Before(bt.Time)
	}
	return a.Metadata.Name < b.Metadata.Name
}

// Blockers returns the older unfinished operations on op's VM among
// existing, oldest first. Operations being deleted do not block.
func Blockers(op *api.VirtualMachineOperation, existing []*api.VirtualMachineOperation) []*api.VirtualMachineOperation {
	var out []*api.VirtualMachineOperation
	for _, o := range existing {
		if o == nil || sameOp(o, op) || !sameVM(o, op) || Finished(o) ||
			o.Metadata.DeletionTimestamp != nil || !Older(o, op) {
			continue
		}
		out = append(out, o)
	}
	sort.SliceStable(out, func(i, j int) bool { return Older(out[i], out[j]) })
	return out
}

// Admit decides whether newOp may be created (or, for a Pending operation,
// executed) next to existing, the operations in its namespace (others are
// ignored, and so is newOp itself if listed). It returns the names of the
// older unfinished operations on the same VM that newOp supersedes, oldest
// first; the caller marks them with SupersededBy. When one of them cannot be
// superseded, nothing is superseded and the error, wrapping
// ErrNotReadyToBeExecuted, names every such operation.
func Admit(newOp *api.VirtualMachineOperation, existing []*api.VirtualMachineOperation) (supersede []string, err error) {
	var blocking []string
	for _, o := range Blockers(newOp, existing) {
		if Supersedes(newOp, o) {
			supersede = append(supersede, o.Metadata.Name)
			continue
		}
		blocking = append(blocking, fmt.Sprintf("%s (%s, %s)", o.Metadata.Name, describe(o), phaseOf(o)))
	}
	if len(blocking) > 0 {
		return nil, fmt.Errorf("%w: VirtualMachine %q has unfinished operations that a %s cannot supersede: %s",
			ErrNotReadyToBeExecuted, newOp.Spec.VirtualMachineName, describe(newOp), strings.Join(blocking, ", "))
	}
	return supersede, nil
}

// describe is "Stop" or "forced Stop".
func describe(op *api.VirtualMachineOperation) string {
	if forced(op) {
		return "forced " + op.Spec.Type
	}
	return op.Spec.Type
}

func phaseOf(op *api.VirtualMachineOperation) api.VMOPPhase {
	if op.Status.Phase == "" {
		return api.VMOPPending
	}
	return op.Status.Phase
}
