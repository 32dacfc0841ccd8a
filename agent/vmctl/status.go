package vmctl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"davit/agent/statusupdate"
	"davit/api"
	"davit/raftstore"
)

// maxTransitions bounds status.stats.phasesTransitions (the newest kept).
const maxTransitions = 20

// Condition types and reasons the controller writes (reference §6).
const (
	condRunning           = "Running"
	condBlockDevicesReady = "BlockDevicesReady"

	reasonRunning          = "Running"
	reasonNotRunning       = "NotRunning"
	reasonPodNotStarted    = "PodNotStarted"
	reasonInternalError    = "InternalVirtualMachineError"
	reasonGuestNotRunning  = "GuestNotRunning"
	reasonBlockDevsReady   = "BlockDevicesReady"
	reasonBlockDevsNotRdy  = "BlockDevicesNotReady"
	reasonWaitingForVolume = "WaitingForWaitForFirstConsumerBlockDevicesToBeReady"
)

// Finalizer keeps a deleted VM until its QEMU is stopped and its files
// and cgroup are gone.
const Finalizer = "davit.io/vm"

// decodeVM turns a stored object into a VM.
func decodeVM(o *api.Object) (*api.VirtualMachine, error) {
	r, err := api.FromObject(o)
	if err != nil {
		return nil, err
	}
	vm, ok := r.(*api.VirtualMachine)
	if !ok {
		return nil, fmt.Errorf("object %s is a %T, not a VirtualMachine", o.Key(), r)
	}
	return vm, nil
}

// setPhase moves st to phase at now, recording the transition.
func setPhase(st *api.VirtualMachineStatus, phase api.VMPhase, now time.Time) {
	if st.Phase == phase {
		return
	}
	st.Phase = phase
	if st.Stats == nil {
		st.Stats = &api.VMStats{}
	}
	st.Stats.PhasesTransitions = append(st.Stats.PhasesTransitions, api.PhaseTransition{Phase: phase, Timestamp: *api.NewTime(now)})
	if n := len(st.Stats.PhasesTransitions); n > maxTransitions {
		st.Stats.PhasesTransitions = st.Stats.PhasesTransitions[n-maxTransitions:]
	}
}

// setCond sets one condition of st.
func setCond(st *api.VirtualMachineStatus, gen int64, typ string, s api.ConditionStatus, reason, msg string, now time.Time) {
	st.Conditions = api.SetCondition(st.Conditions, api.Condition{
		Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen}, now)
}

// errStale: the VM changed identity (deleted and recreated) or left this
// node while a write was being prepared.
var errStale = errors.New("VM changed under the write")

// update rewrites the status of the VM (namespace, name, uid) with mutate,
// on the newest stored copy, with its resourceVersion as precondition; a
// conflict re-reads and retries (statusupdate). mutate returns false to
// write nothing; a VM that changed identity (deleted and recreated) is
// errStale.
func (c *Controller) update(ctx context.Context, ns, name, uid string, mutate func(vm *api.VirtualMachine) bool) error {
	err := statusupdate.Update(ctx, c.cluster, "VirtualMachine", ns, name, func(o *api.Object) (any, error) {
		vm, err := decodeVM(o)
		if err != nil {
			return nil, err
		}
		if vm.Metadata.UID != uid {
			return nil, errStale
		}
		if !mutate(vm) {
			return nil, statusupdate.ErrSkipped
		}
		return vm.Status, nil
	})
	if errors.Is(err, statusupdate.ErrSkipped) {
		return nil
	}
	return err
}

// logErr logs a failed write unless it is an expected race.
func (c *Controller) logErr(what string, vm *api.VirtualMachine, err error) {
	if err == nil || errors.Is(err, errStale) || errors.Is(err, raftstore.ErrNotFound) || errors.Is(err, context.Canceled) {
		return
	}
	c.log.Warn(what, "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "err", err)
}
