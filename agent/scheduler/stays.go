package scheduler

import (
	"fmt"

	"davit/api"
)

// Stays reports whether vm may keep running on node, the node it runs on:
// the filters that describe the node rather than the moment — the class's
// and the VM's node selectors, NoExecute taints the VM does not tolerate, and
// the class's CPU being available there — still pass. Readiness, cordoning and
// resources are not reasons to move a running VM (drain and fencing handle
// those). When it may not, the filter that fails is returned (the VM
// controller then restarts the VM elsewhere as its restartApprovalMode
// allows; live migration takes that place later). A VM whose class is gone,
// or whose class has no computed status yet, is not moved for it: there is
// nothing to compare with.
func (s *State) Stays(vm *api.VirtualMachine, node string) (Filter, bool) {
	i, ok := s.index[node]
	if !ok || vm == nil {
		return "", true
	}
	class := s.snap.Classes[vm.Spec.VirtualMachineClassName]
	if class == nil {
		return "", true
	}
	r := &request{
		tolerations:   MergeTolerations(class.Spec.Tolerations, vm.Spec.Tolerations),
		classSelector: s.classMatches(class),
		classNodes:    s.classAllows(class),
	}
	for k, v := range vm.Spec.NodeSelector {
		r.vmSelector = append(r.vmSelector, labelPair{k, v})
	}
	n := &s.nodes[i]
	switch {
	case !taintsTolerated(r.tolerations, noExecute(n.hardTaints)):
		return FilterUntoleratedTaint, false
	case !nodeSelectorMatches(r.classSelector, i, r.vmSelector, n.labels):
		return FilterNodeSelectorMismatch, false
	case class.Status.Phase != "" && !classCPUCompatible(r.classNodes, i):
		return FilterClassCPUUnavailable, false
	}
	return "", true
}

// StaysMessage explains a failed Stays for the VM's conditions.
func StaysMessage(f Filter, vm *api.VirtualMachine, node string) string {
	switch f {
	case FilterNodeSelectorMismatch:
		return fmt.Sprintf("node %s no longer matches the node selector of VirtualMachineClass %s or of the VM", node, vm.Spec.VirtualMachineClassName)
	case FilterClassCPUUnavailable:
		return fmt.Sprintf("node %s can no longer run the CPU of VirtualMachineClass %s", node, vm.Spec.VirtualMachineClassName)
	case FilterUntoleratedTaint:
		return fmt.Sprintf("node %s has a NoExecute taint the VM does not tolerate", node)
	}
	return string(f)
}

// noExecute keeps the NoExecute taints of hard.
func noExecute(hard []api.Taint) []api.Taint {
	var out []api.Taint
	for _, t := range hard {
		if t.Effect == api.TaintNoExecute {
			out = append(out, t)
		}
	}
	return out
}
