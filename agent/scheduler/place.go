package scheduler

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"davit/api"
)

// Errors of Place. A VM that fits on no node gets ErrUnschedulable, with
// the per-filter counts in the Decision; the others say why the VM cannot be
// considered at all.
var (
	ErrUnschedulable = errors.New("no node can run the VM")
	ErrClassNotFound = errors.New("virtual machine class not found")
	ErrDiskNotFound  = errors.New("virtual disk not found")
	ErrDiskInUse     = errors.New("ReadWriteOnce disk is in use by another VM")
	ErrNodeNotFound  = errors.New("node not found")
	ErrNoVM          = errors.New("no VM given")
)

// Score weights (the least-allocated part is 0..100).
const (
	// ImageBonus is added to a node holding every image of the VM
	// (proportionally for some of them).
	ImageBonus = 20
	// PreferNoSchedulePenalty is taken from a node with a PreferNoSchedule
	// taint the VM does not tolerate.
	PreferNoSchedulePenalty = 30
)

// Decision is the outcome of Place.
type Decision struct {
	// Node is the chosen node; empty when none fits.
	Node string
	// Score is the chosen node's score.
	Score int64
	// Nodes is how many nodes were considered.
	Nodes int
	// Reasons counts the rejected nodes per filter (the first each failed).
	Reasons map[Filter]int
}

// Message summarises the rejections as the VM's condition shows them:
// "0/5 nodes are available: 2 NotReady, 1 Unschedulable, 2 InsufficientCPU."
func (d Decision) Message() string {
	avail := 0
	if d.Node != "" {
		avail = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d nodes are available", avail, d.Nodes)
	sep := ": "
	for _, f := range FilterOrder() {
		if n := d.Reasons[f]; n > 0 {
			b.WriteString(sep + strconv.Itoa(n) + " " + string(f))
			sep = ", "
		}
	}
	b.WriteString(".")
	return b.String()
}

// Place chooses a node for vm in snap. It is NewState(snap).Place(vm); use
// a State to place many VMs in a row.
func Place(snap *Snapshot, vm *api.VirtualMachine) (Decision, error) {
	return NewState(snap).Place(vm)
}

// Place chooses a node for vm without recording it (see Assign). If vm is
// already placed in the State, its own usage is left out, so Place answers
// "where would it go now". The error is ErrUnschedulable (with
// Decision.Message in its text) when every node is rejected, or one of
// ErrClassNotFound, ErrDiskNotFound, ErrDiskInUse naming the object.
func (s *State) Place(vm *api.VirtualMachine) (Decision, error) {
	d := Decision{Nodes: len(s.nodes), Reasons: map[Filter]int{}}
	if vm == nil {
		return d, fmt.Errorf("place: %w", ErrNoVM)
	}
	r, err := s.newRequest(vm)
	if err != nil {
		if errors.Is(err, ErrDiskInUse) {
			d.Reasons[FilterDiskInUse] = len(s.nodes)
			return d, fmt.Errorf("place %s: %w: %w", vmKey(vm), ErrUnschedulable, err)
		}
		return d, fmt.Errorf("place %s: %w", vmKey(vm), err)
	}
	defer r.clearImages()
	order := FilterOrder()
	counts := make([]int, len(order)+1)
	best, bestScore := -1, int64(0)
	for i := range s.nodes {
		n := &s.nodes[i]
		if f := r.filterNode(i, n); f != 0 {
			counts[f]++
			continue
		}
		sc := r.score(i, n)
		if best < 0 || sc > bestScore || (sc == bestScore && n.name < s.nodes[best].name) {
			best, bestScore = i, sc
		}
	}
	for f, c := range counts[1:] {
		if c > 0 {
			d.Reasons[order[f]] = c
		}
	}
	if best < 0 {
		return d, fmt.Errorf("place %s: %w: %s", vmKey(vm), ErrUnschedulable, d.Message())
	}
	d.Node, d.Score = s.nodes[best].name, bestScore
	return d, nil
}

// request is one VM prepared for the filters and scores.
type request struct {
	demand        Demand
	tolerations   []api.Toleration
	classSelector []bool
	vmSelector    []labelPair
	classNodes    []bool
	pinnedNode    string
	pinConflict   bool
	// self is the VM's own current placement, left out of the usage.
	self *placement
	// images counts, per node index, the VM's images held there (the
	// State's scratch space); nil when no node holds any. touched lists the
	// indexes to clear afterwards.
	images    []int
	touched   []int
	numImages int
}

func (s *State) newRequest(vm *api.VirtualMachine) (*request, error) {
	class := s.snap.Classes[vm.Spec.VirtualMachineClassName]
	if class == nil {
		return nil, fmt.Errorf("%w: %q", ErrClassNotFound, vm.Spec.VirtualMachineClassName)
	}
	r := &request{
		demand:        specDemand(vm),
		tolerations:   MergeTolerations(class.Spec.Tolerations, vm.Spec.Tolerations),
		classSelector: s.classMatches(class),
		classNodes:    s.classAllows(class),
	}
	for k, v := range vm.Spec.NodeSelector {
		r.vmSelector = append(r.vmSelector, labelPair{k, v})
	}
	key := vmKey(vm)
	if p, ok := s.placed[key]; ok {
		r.self = &p
	}
	for _, dk := range diskKeys(vm) {
		if err := s.checkDisk(r, key, dk); err != nil {
			return nil, err
		}
	}
	s.countImages(r, vm)
	return r, nil
}

// checkDisk pins the request to the disk's node and rejects a ReadWriteOnce
// disk another VM holds.
func (s *State) checkDisk(r *request, self, dk string) error {
	disk := s.snap.Disks[dk]
	if disk == nil {
		return fmt.Errorf("%w: %q", ErrDiskNotFound, dk)
	}
	if disk.BoundNode != "" {
		switch {
		case r.pinnedNode == "":
			r.pinnedNode = disk.BoundNode
		case r.pinnedNode != disk.BoundNode:
			r.pinConflict = true
		}
	}
	if disk.readWriteMany() {
		return nil
	}
	for _, h := range s.holders[dk] {
		if h.vm != self {
			return fmt.Errorf("%w: disk %q is attached to VM %q on node %q", ErrDiskInUse, dk, h.vm, h.node)
		}
	}
	return nil
}

func (s *State) countImages(r *request, vm *api.VirtualMachine) {
	for _, ref := range vm.Spec.BlockDeviceRefs {
		key, ok := ImageKeyOf(vm.Metadata.Namespace, ref)
		if !ok {
			continue
		}
		r.numImages++
		holders := s.imageHolders(key)
		if len(holders) == 0 {
			continue
		}
		if s.imageCount == nil {
			s.imageCount = make([]int, len(s.nodes))
		}
		r.images = s.imageCount
		for _, i := range holders {
			if r.images[i] == 0 {
				r.touched = append(r.touched, i)
			}
			r.images[i]++
		}
	}
}

// clearImages zeroes the scratch counts for the next Place.
func (r *request) clearImages() {
	for _, i := range r.touched {
		r.images[i] = 0
	}
}

// usedOn is node i's usage without the VM's own share.
func (r *request) usedOn(i int, n *nodeInfo) Demand {
	if r.self != nil {
		for _, j := range r.self.nodes {
			if j == i {
				return n.used.sub(r.self.demand)
			}
		}
	}
	return n.used
}

// score rates a node that passed every filter: the mean free CPU and memory
// fraction after placing the VM (0..100), the image bonus, the
// PreferNoSchedule penalty. Integer arithmetic, so it is exact and
// deterministic.
func (r *request) score(i int, n *nodeInfo) int64 {
	used := r.usedOn(i, n)
	sc := (freePercent(n.cpuMilli, used.CPUMilli+r.demand.CPUMilli) +
		freePercent(n.memBytes, used.MemoryBytes+r.demand.MemoryBytes)) / 2
	if r.images != nil && r.numImages > 0 {
		sc += ImageBonus * int64(r.images[i]) / int64(r.numImages)
	}
	for j := range n.softTaints {
		if !tolerated(r.tolerations, &n.softTaints[j]) {
			sc -= PreferNoSchedulePenalty
			break
		}
	}
	return sc
}

// freePercent is the share of alloc left after used, 0..100.
func freePercent(alloc, used int64) int64 {
	if alloc <= 0 {
		return 0
	}
	free := max(alloc-used, 0)
	if free > math.MaxInt64/100 { // beyond 92 PB: divide first
		return free / (alloc / 100)
	}
	return free * 100 / alloc
}
