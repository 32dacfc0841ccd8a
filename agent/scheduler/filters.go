package scheduler

import (
	"davit/api"
)

// Filter names a reason a node cannot take a VM. The names are the words of
// the VM's condition message ("2 NotReady, 1 InsufficientCPU").
type Filter string

// Filters, in the order they are applied: a node is counted under the first
// one it fails.
const (
	FilterNotReady                   Filter = "NotReady"
	FilterUnschedulable              Filter = "Unschedulable"
	FilterUntoleratedTaint           Filter = "UntoleratedTaint"
	FilterNodeSelectorMismatch       Filter = "NodeSelectorMismatch"
	FilterClassCPUUnavailable        Filter = "ClassCPUUnavailable"
	FilterDiskOnOtherNode            Filter = "DiskOnOtherNode"
	FilterInsufficientDedicatedCores Filter = "InsufficientDedicatedCores"
	FilterInsufficientCPU            Filter = "InsufficientCPU"
	FilterInsufficientMemory         Filter = "InsufficientMemory"
	// FilterDiskInUse rejects every node at once: a ReadWriteOnce disk of
	// the VM is held by another VM (the error names it).
	FilterDiskInUse Filter = "DiskInUse"
)

// FilterOrder returns the filters in the order they are applied and
// reported. filterNode returns positions in this list (plus one): keep the
// two in step (TestFilters checks every one by name).
func FilterOrder() []Filter {
	return []Filter{
		FilterNotReady, FilterUnschedulable, FilterUntoleratedTaint, FilterNodeSelectorMismatch,
		FilterClassCPUUnavailable, FilterDiskOnOtherNode, FilterInsufficientDedicatedCores,
		FilterInsufficientCPU, FilterInsufficientMemory, FilterDiskInUse,
	}
}

// filterNode returns the first filter node i fails for the request, as an
// index into FilterOrder plus one, or 0 when the node can take the VM.
func (r *request) filterNode(i int, n *nodeInfo) int {
	switch {
	case !nodeReady(n):
		return 1 // FilterNotReady
	case !nodeSchedulable(n):
		return 2 // FilterUnschedulable
	case !taintsTolerated(r.tolerations, n.hardTaints):
		return 3 // FilterUntoleratedTaint
	case !nodeSelectorMatches(r.classSelector, i, r.vmSelector, n.labels):
		return 4 // FilterNodeSelectorMismatch
	case !classCPUCompatible(r.classNodes, i):
		return 5 // FilterClassCPUUnavailable
	case !disksOnNode(r.pinnedNode, r.pinConflict, n.name):
		return 6 // FilterDiskOnOtherNode
	}
	used := r.usedOn(i, n)
	switch {
	case !dedicatedCoresFit(r.demand.DedicatedCores, used.DedicatedCores, n.dedicatable):
		return 7 // FilterInsufficientDedicatedCores
	case !cpuFits(r.demand.CPUMilli, used.CPUMilli, n.cpuMilli):
		return 8 // FilterInsufficientCPU
	case !memoryFits(r.demand.MemoryBytes, used.MemoryBytes, n.memBytes):
		return 9 // FilterInsufficientMemory
	}
	return 0
}

// nodeReady: the node's Ready condition is True.
func nodeReady(n *nodeInfo) bool { return n.ready }

// nodeSchedulable: the node is not cordoned.
func nodeSchedulable(n *nodeInfo) bool { return !n.unschedulable }

// taintsTolerated: every NoSchedule and NoExecute taint is tolerated.
func taintsTolerated(tols []api.Toleration, hard []api.Taint) bool {
	for i := range hard {
		if !tolerated(tols, &hard[i]) {
			return false
		}
	}
	return true
}

// nodeSelectorMatches: the class's label selector (evaluated once per node
// and class: classMatch, nil when the class has none) and the VM's
// nodeSelector pairs both match the node's labels.
func nodeSelectorMatches(classMatch []bool, i int, vm []labelPair, labels map[string]string) bool {
	if classMatch != nil && !classMatch[i] {
		return false
	}
	for _, p := range vm {
		if lv, ok := labels[p.key]; !ok || lv != p.value {
			return false
		}
	}
	return true
}

type labelPair struct{ key, value string }

// classCPUCompatible: the class can run on node i (nil: on every node).
func classCPUCompatible(allowed []bool, i int) bool { return allowed == nil || allowed[i] }

// disksOnNode: every disk bound to a node is bound to this one.
func disksOnNode(pinned string, conflict bool, node string) bool {
	return !conflict && (pinned == "" || pinned == node)
}

// dedicatedCoresFit: enough CPUs are left to dedicate.
func dedicatedCoresFit(need, used, capacity int64) bool {
	return need == 0 || used+need <= capacity
}

// cpuFits: guaranteed CPU stays within allocatable.
func cpuFits(need, used, alloc int64) bool { return used+need <= alloc }

// memoryFits: memory plus overhead stays within allocatable.
func memoryFits(need, used, alloc int64) bool { return used+need <= alloc }

// tolerated reports whether a toleration matches the taint (Kubernetes'
// ToleratesTaint): the effect matches or is empty, the key matches or is
// empty, and Exists ignores the value while Equal (or no operator) compares
// it.
func tolerated(tols []api.Toleration, t *api.Taint) bool {
	for i := range tols {
		if toleratesTaint(&tols[i], t) {
			return true
		}
	}
	return false
}

func toleratesTaint(tol *api.Toleration, t *api.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key != "" && tol.Key != t.Key {
		return false
	}
	switch tol.Operator {
	case "Exists":
		return true
	case "", "Equal":
		return tol.Value == t.Value
	}
	return false
}

// MergeTolerations returns the VM's tolerations followed by those of its
// class that the VM does not override: a class entry is dropped when the VM
// has one with the same key and effect (reference §5: "the VM's own entries
// win").
func MergeTolerations(class, vm []api.Toleration) []api.Toleration {
	out := append([]api.Toleration(nil), vm...)
	for _, c := range class {
		overridden := false
		for _, v := range vm {
			overridden = overridden || (v.Key == c.Key && v.Effect == c.Effect)
		}
		if !overridden {
			out = append(out, c)
		}
	}
	return out
}
