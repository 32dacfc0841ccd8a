package vmctl

import (
	"context"
	"time"

	"davit/agent/scheduler"
	"davit/api"
)

// Conditions of a VM that no longer fits its node (reference §6).
const (
	condEvictionRequired    = "EvictionRequired"
	condAwaitingRestart     = "AwaitingRestartToApplyConfiguration"
	reasonEvictionRequired  = "EvictionRequired"
	reasonNoEviction        = "NoEvictionRequired"
	reasonChangesPending    = "ChangesPendingRestart"
	reasonNoRestartRequired = "NoRestartRequired"
)

// checkFit (leader) compares a placed VM with its node: when a class or VM
// change means the node no longer fits (its node selector, the class's CPU,
// a NoExecute taint), the VM gets EvictionRequired=True and
// AwaitingRestartToApplyConfiguration=True saying why. The node then moves it
// — a restart through the leader's placement, at once with
// restartApprovalMode Automatic, on the next Restart operation with Manual.
// Live migration will take the restart's place (the seam is evicting in
// node.go).
func (c *Controller) checkFit(ctx context.Context, state *scheduler.State, vm *api.VirtualMachine, now time.Time) {
	f, stays := state.Stays(vm, vm.Status.NodeName)
	msg := ""
	if !stays {
		msg = scheduler.StaysMessage(f, vm, vm.Status.NodeName)
	}
	if evictionRequired(vm) == !stays && (stays || conditionMessage(vm, condEvictionRequired) == msg) {
		return
	}
	err := c.update(ctx, vm.Metadata.Namespace, vm.Metadata.Name, vm.Metadata.UID, func(v *api.VirtualMachine) bool {
		if v.Status.NodeName != vm.Status.NodeName {
			return false
		}
		gen := v.Metadata.Generation
		if stays {
			setCond(&v.Status, gen, condEvictionRequired, api.ConditionFalse, reasonNoEviction, "", now)
			setCond(&v.Status, gen, condAwaitingRestart, api.ConditionFalse, reasonNoRestartRequired, "", now)
			return true
		}
		how := "restartApprovalMode is Manual: a Restart operation moves it"
		if restartAutomatic(v) {
			how = "restarting it on another node (restartApprovalMode Automatic)"
		}
		setCond(&v.Status, gen, condEvictionRequired, api.ConditionTrue, reasonEvictionRequired, msg, now)
		setCond(&v.Status, gen, condAwaitingRestart, api.ConditionTrue, reasonChangesPending, msg+"; "+how, now)
		return true
	})
	c.logErr("write VM eviction", vm, err)
	if err == nil && !stays {
		c.log.Info("VM no longer fits its node", "vm", vm.Metadata.Namespace+"/"+vm.Metadata.Name, "why", msg)
	}
}

// evictionRequired reports the VM's EvictionRequired condition.
func evictionRequired(vm *api.VirtualMachine) bool {
	c := api.FindCondition(vm.Status.Conditions, condEvictionRequired)
	return c != nil && c.Status == api.ConditionTrue
}

func conditionMessage(vm *api.VirtualMachine, typ string) string {
	if c := api.FindCondition(vm.Status.Conditions, typ); c != nil {
		return c.Message
	}
	return ""
}

// restartAutomatic: the VM's disruptions.restartApprovalMode is Automatic.
func restartAutomatic(vm *api.VirtualMachine) bool {
	d := vm.Spec.Disruptions
	return d != nil && d.RestartApprovalMode == api.RestartApprovalAutomatic
}

// shouldEvict (node) says whether a running VM must leave this node now:
// it no longer fits, and either its restartApprovalMode is Automatic or a
// Restart operation asks for a new instance.
func shouldEvict(vm *api.VirtualMachine, want Want) bool {
	if !evictionRequired(vm) {
		return false
	}
	return restartAutomatic(vm) || needsRestart(vm, want)
}

// needsRestart: a Restart operation in progress and the running instance
// was not started for it.
func needsRestart(vm *api.VirtualMachine, want Want) bool {
	return want.RestartFor != "" && vm.Status.RestartedBy != want.RestartFor
}
