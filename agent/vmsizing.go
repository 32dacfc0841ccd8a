package agent

import (
	"context"
	"encoding/json"
	"time"

	"davit/api"
	"davit/raftstore"
)

// syncVMClassConditions (leader) keeps each VM's VirtualMachineClassReady
// and SizingPolicyMatched conditions current. A VM that stops matching its
// class's sizing policies after a class change keeps its place (and, once
// VMs run, keeps running) with SizingPolicyMatched=False; the API rejects
// edits to it until it conforms.
func (a *Agent) syncVMClassConditions(ctx context.Context) {
	vms, _ := a.store.List("VirtualMachine", "", nil)
	now := time.Now()
	for _, o := range vms {
		r, err := api.FromObject(o)
		if err != nil {
			continue
		}
		vm := r.(*api.VirtualMachine)
		conds := vmClassConditions(vm, a.classOf(vm))
		want := vm.Status.Conditions
		for _, c := range conds {
			want = api.SetCondition(want, c, now)
		}
		if sameJSON(vm.Status.Conditions, want) {
			continue
		}
		vm.Status.Conditions = want
		b, err := json.Marshal(vm.Status)
		if err != nil {
			continue
		}
		upd := o.DeepCopy()
		upd.Status = b
		if res, err := a.apply(ctx, raftstore.UpdateStatusCommand(o.Kind, upd)); err != nil || res.Err != nil {
			a.log.Debug("write VM class conditions", "vm", o.Key(), "err", err)
		}
	}
}

func (a *Agent) classOf(vm *api.VirtualMachine) *api.VirtualMachineClass {
	o, err := a.store.Get("VirtualMachineClass", "", vm.Spec.VirtualMachineClassName)
	if err != nil {
		return nil
	}
	r, err := api.FromObject(o)
	if err != nil {
		return nil
	}
	return r.(*api.VirtualMachineClass)
}

// vmClassConditions is pure: what the two conditions say for vm and its
// class (nil when the class does not exist).
func vmClassConditions(vm *api.VirtualMachine, c *api.VirtualMachineClass) []api.Condition {
	cond := func(t string, s api.ConditionStatus, reason, msg string) api.Condition {
		return api.Condition{Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: vm.Metadata.Generation}
	}
	name := vm.Spec.VirtualMachineClassName
	switch {
	case c == nil:
		msg := "VirtualMachineClass " + name + " does not exist"
		return []api.Condition{
			cond("VirtualMachineClassReady", api.ConditionFalse, "VirtualMachineClassNotReady", msg),
			cond("SizingPolicyMatched", api.ConditionFalse, "VirtualMachineClassNotFound", msg),
		}
	case c.Metadata.DeletionTimestamp != nil:
		msg := "VirtualMachineClass " + name + " is being deleted"
		return []api.Condition{
			cond("VirtualMachineClassReady", api.ConditionFalse, "VirtualMachineClassNotReady", msg),
			cond("SizingPolicyMatched", api.ConditionFalse, "VirtualMachineClassTerminating", msg),
		}
	}
	ready := cond("VirtualMachineClassReady", api.ConditionTrue, "VirtualMachineClassReady", "")
	if c.Status.Phase != api.ClassReady {
		ready = cond("VirtualMachineClassReady", api.ConditionFalse, "VirtualMachineClassNotReady",
			"VirtualMachineClass "+name+" is "+string(c.Status.Phase))
	}
	sizing := cond("SizingPolicyMatched", api.ConditionTrue, "SizingPolicyMatched", "")
	if errs := api.ValidateVMSizing(vm, c); len(errs) > 0 {
		sizing = cond("SizingPolicyMatched", api.ConditionFalse, "SizingPolicyNotMatched", errs.Error())
	}
	return []api.Condition{ready, sizing}
}
