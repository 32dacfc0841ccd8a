package agent

import (
	"davit/agent/vmop"
	"davit/api"
)

// admitVMOP rejects the creation of a VirtualMachineOperation while an older
// unfinished operation on the same VM exists that it may not supersede
// (reference §7, vmop.Admit). The rejection is a Forbidden field error on
// spec.virtualMachineName, so the API answers 422 Invalid naming the
// blocking operations. Updates are not checked here (the spec is
// immutable), and the operations it supersedes are marked by the VMOP
// controller, not at admission: two creations racing past this check are
// sorted out there (the newer fails with NotReadyToBeExecuted).
func (ad *admitter) admitVMOP(op *api.VirtualMachineOperation, old api.Resource) api.FieldErrors {
	if old != nil || op.Metadata.DeletionTimestamp != nil {
		return nil
	}
	objs, _ := ad.store.List("VirtualMachineOperation", op.Metadata.Namespace, nil)
	existing := make([]*api.VirtualMachineOperation, 0, len(objs))
	for _, o := range objs {
		res, err := api.FromObject(o)
		if err != nil {
			continue
		}
		if e, ok := res.(*api.VirtualMachineOperation); ok {
			existing = append(existing, e)
		}
	}
	if _, err := vmop.Admit(op, existing); err != nil {
		var errs api.FieldErrors
		errs.Add(api.ErrForbidden, "spec.virtualMachineName", err.Error())
		return errs
	}
	return nil
}
