package agent

import (
	"context"

	"davit/api"
	"davit/raftstore"
)

// admitter applies the rules that read the store (DESIGN §3): a VM's class
// (defaulted from the class annotated as default), its coreFraction default
// and its sizing policy.
type admitter struct{ store *raftstore.Store }

func (ad *admitter) Admit(_ context.Context, r api.Resource, old api.Resource) api.FieldErrors {
	switch x := r.(type) {
	case *api.VirtualMachineOperation:
		return ad.admitVMOP(x, old)
	case *api.VirtualDisk:
		return ad.admitVD(x, old)
	}
	vm, ok := r.(*api.VirtualMachine)
	if !ok || vm.Metadata.DeletionTimestamp != nil {
		return nil
	}
	var errs api.FieldErrors
	if vm.Spec.VirtualMachineClassName == "" {
		name, found := ad.defaultClass()
		if !found {
			errs.Add(api.ErrRequired, "spec.virtualMachineClassName",
				"no class given and no VirtualMachineClass is annotated "+api.DefaultClassAnnotation+"=true")
			return errs
		}
		vm.Spec.VirtualMachineClassName = name
	}
	obj, err := ad.store.Get("VirtualMachineClass", "", vm.Spec.VirtualMachineClassName)
	if err != nil {
		return nil // a missing class only warns: the VM waits Pending with a condition naming it
	}
	res, err := api.FromObject(obj)
	if err != nil {
		return nil
	}
	class := res.(*api.VirtualMachineClass)
	errs = append(errs, api.DefaultVMAgainstClass(vm, class)...)
	if len(errs) == 0 {
		errs = append(errs, api.ValidateVMSizing(vm, class)...)
	}
	return errs
}

func (ad *admitter) defaultClass() (string, bool) {
	classes, _ := ad.store.List("VirtualMachineClass", "", nil)
	for _, c := range classes {
		if c.Metadata.Annotations[api.DefaultClassAnnotation] == "true" && c.Metadata.DeletionTimestamp == nil {
			return c.Metadata.Name, true
		}
	}
	return "", false
}
