package scheduler

import (
	"fmt"
	"slices"

	"davit/api"
)

// State is a Snapshot prepared for placement: every node's allocatable
// resources and current usage, computed once, and the disks each placed VM
// holds. Place reads it; Assign records a placement so that the next Place
// sees it. A State is not safe for concurrent use; the Snapshot must not
// change while the State is in use.
type State struct {
	snap    *Snapshot
	nodes   []nodeInfo
	index   map[string]int
	placed  map[string]placement
	holders map[string][]holder
	// classNodes caches, per class name, which nodes its CPU can run on
	// (nil: all); classSelector which nodes its nodeSelector matches (nil:
	// all).
	classNodes    map[string][]bool
	classSelector map[string][]bool
	// imageNodes caches ImageHolders as node indexes.
	imageNodes map[ImageKey][]int
	// imageCount is Place's scratch space: images held per node index.
	imageCount []int
}

type nodeInfo struct {
	name          string
	labels        map[string]string
	ready         bool
	unschedulable bool
	hardTaints    []api.Taint // NoSchedule, NoExecute
	softTaints    []api.Taint // PreferNoSchedule
	cpuMilli      int64
	memBytes      int64
	dedicatable   int64
	used          Demand
}

// placement is what a VM takes and where.
type placement struct {
	nodes  []int
	demand Demand
	disks  []string
}

// holder is a placed VM using a disk.
type holder struct {
	vm   string
	node string
}

// NewState prepares snap for placement. Nodes without a name and
// duplicate names after the first are ignored, and so are VMs on nodes the
// snapshot does not list.
func NewState(snap *Snapshot) *State {
	s := &State{
		snap:          snap,
		index:         make(map[string]int, len(snap.Nodes)),
		placed:        make(map[string]placement),
		holders:       make(map[string][]holder),
		classNodes:    make(map[string][]bool),
		classSelector: make(map[string][]bool),
		imageNodes:    make(map[ImageKey][]int),
	}
	for _, n := range snap.Nodes {
		if n == nil || n.Metadata.Name == "" {
			continue
		}
		if _, dup := s.index[n.Metadata.Name]; dup {
			continue
		}
		s.index[n.Metadata.Name] = len(s.nodes)
		s.nodes = append(s.nodes, newNodeInfo(n))
	}
	for _, vm := range snap.VMs {
		if vm != nil && occupies(vm) {
			s.record(vm, vm.Status.NodeName, migrationTarget(vm))
		}
	}
	return s
}

func newNodeInfo(n *api.Node) nodeInfo {
	info := nodeInfo{
		name:          n.Metadata.Name,
		labels:        n.Metadata.Labels,
		ready:         api.IsConditionTrue(n.Status.Conditions, "Ready"),
		unschedulable: n.Spec.Unschedulable,
		memBytes:      n.Status.Allocatable.Memory.Bytes(),
	}
	if milli, ok := cpuMilli(n.Status.Allocatable.CPU); ok {
		info.cpuMilli = milli
		info.dedicatable = max(milli/1000-1, 0)
	}
	for _, t := range n.Spec.Taints {
		switch t.Effect {
		case api.TaintNoSchedule, api.TaintNoExecute:
			info.hardTaints = append(info.hardTaints, t)
		case api.TaintPreferNoSchedule:
			info.softTaints = append(info.softTaints, t)
		}
	}
	return info
}

// Assign records that vm now runs on (or is placed on) node, replacing what
// the State knew of it, so the next Place counts it there. The controller
// calls it after writing status.nodeName; Place does not call it.
func (s *State) Assign(vm *api.VirtualMachine, node string) error {
	if vm == nil {
		return fmt.Errorf("assign: %w", ErrNoVM)
	}
	if _, ok := s.index[node]; !ok {
		return fmt.Errorf("assign %s to %q: %w", vmKey(vm), node, ErrNodeNotFound)
	}
	s.Release(vm)
	s.record(vm, node, "")
	return nil
}

// Release forgets vm (it stopped or was deleted): its resources and disks
// are free again.
func (s *State) Release(vm *api.VirtualMachine) {
	key := vmKey(vm)
	p, ok := s.placed[key]
	if !ok {
		return
	}
	for _, i := range p.nodes {
		s.nodes[i].used = s.nodes[i].used.sub(p.demand)
	}
	for _, d := range p.disks {
		hs := slices.DeleteFunc(s.holders[d], func(h holder) bool { return h.vm == key })
		if len(hs) == 0 {
			delete(s.holders, d)
		} else {
			s.holders[d] = hs
		}
	}
	delete(s.placed, key)
}

func (s *State) record(vm *api.VirtualMachine, node, target string) {
	i, ok := s.index[node]
	if !ok {
		return
	}
	p := placement{nodes: []int{i}, demand: DemandOf(vm), disks: diskKeys(vm)}
	if j, ok := s.index[target]; ok && j != i {
		p.nodes = append(p.nodes, j)
	}
	for _, n := range p.nodes {
		s.nodes[n].used = s.nodes[n].used.add(p.demand)
	}
	key := vmKey(vm)
	for _, d := range p.disks {
		s.holders[d] = append(s.holders[d], holder{vm: key, node: node})
	}
	s.placed[key] = p
}

// Usage returns what the VMs the State knows of take on node.
func (s *State) Usage(node string) (Demand, bool) {
	i, ok := s.index[node]
	if !ok {
		return Demand{}, false
	}
	return s.nodes[i].used, true
}

// Allocatable returns node's allocatable resources as the scheduler reads
// them (DedicatedCores: how many CPUs it can dedicate).
func (s *State) Allocatable(node string) (Demand, bool) {
	i, ok := s.index[node]
	if !ok {
		return Demand{}, false
	}
	n := &s.nodes[i]
	return Demand{CPUMilli: n.cpuMilli, MemoryBytes: n.memBytes, DedicatedCores: n.dedicatable}, true
}

// classAllows returns, per node index, whether the class's CPU can run
// there; nil means every node.
func (s *State) classAllows(c *api.VirtualMachineClass) []bool {
	if allowed, ok := s.classNodes[c.Metadata.Name]; ok {
		return allowed
	}
	var allowed []bool
	host := c.Spec.CPU.Type == api.CPUTypeHost || c.Spec.CPU.Type == api.CPUTypeHostPassthrough
	switch {
	case c.Status.Phase == "" && host:
		// No status yet: a host CPU runs anywhere.
	case c.Status.Phase == "":
		allowed = make([]bool, len(s.nodes))
	default:
		allowed = make([]bool, len(s.nodes))
		for _, name := range c.Status.AvailableNodes {
			if i, ok := s.index[name]; ok {
				allowed[i] = true
			}
		}
	}
	s.classNodes[c.Metadata.Name] = allowed
	return allowed
}

// classMatches returns, per node index, whether the class's nodeSelector
// matches the node; nil when the class has no selector.
func (s *State) classMatches(c *api.VirtualMachineClass) []bool {
	if m, ok := s.classSelector[c.Metadata.Name]; ok {
		return m
	}
	var m []bool
	if sel := c.Spec.NodeSelector; sel != nil && (len(sel.MatchLabels) > 0 || len(sel.MatchExpressions) > 0) {
		m = make([]bool, len(s.nodes))
		for i := range s.nodes {
			m[i] = sel.Matches(s.nodes[i].labels)
		}
	}
	s.classSelector[c.Metadata.Name] = m
	return m
}

// imageHolders returns the indexes of the nodes holding the image.
func (s *State) imageHolders(key ImageKey) []int {
	if idx, ok := s.imageNodes[key]; ok {
		return idx
	}
	var idx []int
	for _, name := range s.snap.ImageHolders[key] {
		if i, ok := s.index[name]; ok {
			idx = append(idx, i)
		}
	}
	s.imageNodes[key] = idx
	return idx
}
