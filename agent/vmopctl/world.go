package vmopctl

import (
	"sort"

	"davit/agent/vmop"
	"davit/api"
)

// world is one pass's snapshot of the operations and VMs. The controller
// updates the operations in it as it writes them, so later decisions in
// the same pass see earlier ones.
type world struct {
	// all is every operation; byNamespace the same pointers per namespace.
	all         []*api.VirtualMachineOperation
	byNamespace map[string][]*api.VirtualMachineOperation
	byKey       map[string]*api.VirtualMachineOperation
	vms         map[string]*api.VirtualMachine
	// ordered lists the operations to reconcile, oldest first: the
	// unfinished ones and the ones being deleted that are not yet
	// Terminating.
	ordered []*api.VirtualMachineOperation
}

// lister is the read side of Cluster.
type lister interface {
	List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64)
}

// readWorld takes the snapshot. Objects that do not decode are skipped:
// they were validated when written, so that is a bug elsewhere, and one bad
// object must not stop the others.
func readWorld(l lister) *world {
	w := &world{byNamespace: map[string][]*api.VirtualMachineOperation{},
		byKey: map[string]*api.VirtualMachineOperation{}, vms: map[string]*api.VirtualMachine{}}
	objs, _ := l.List(kindVMOP, "", nil)
	for _, o := range objs {
		res, err := api.FromObject(o)
		if err != nil {
			continue
		}
		op, ok := res.(*api.VirtualMachineOperation)
		if !ok {
			continue
		}
		ns := op.Metadata.Namespace
		w.all = append(w.all, op)
		w.byNamespace[ns] = append(w.byNamespace[ns], op)
		w.byKey[api.Key(ns, op.Metadata.Name)] = op
		if needsWork(op) {
			w.ordered = append(w.ordered, op)
		}
	}
	sort.SliceStable(w.ordered, func(i, j int) bool { return vmop.Older(w.ordered[i], w.ordered[j]) })
	vms, _ := l.List(kindVM, "", nil)
	for _, o := range vms {
		res, err := api.FromObject(o)
		if err != nil {
			continue
		}
		if vm, ok := res.(*api.VirtualMachine); ok {
			w.vms[api.Key(vm.Metadata.Namespace, vm.Metadata.Name)] = vm
		}
	}
	return w
}

// needsWork reports whether a pass may have to write op.
func needsWork(op *api.VirtualMachineOperation) bool {
	if op.Metadata.DeletionTimestamp != nil {
		return op.Status.Phase != api.VMOPTerminating
	}
	return !vmop.Finished(op)
}

// vmOf is the VM an operation names, or nil.
func (w *world) vmOf(op *api.VirtualMachineOperation) *api.VirtualMachine {
	return w.vms[api.Key(op.Metadata.Namespace, op.Spec.VirtualMachineName)]
}
