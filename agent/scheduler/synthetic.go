package scheduler

import (
	"fmt"
	"math/rand/v2"
	"time"

	"davit/api"
)

// PlacementRate measures placements per second: it builds a synthetic
// cluster of nodes nodes (a mix of sizes, labels, taints, a cordoned and a
// NotReady share, classes available on part of them, images on some) and
// vms VMs, then places the VMs one after another into the growing State
// (Place, then Assign), as the leader does after a burst of creations. The
// cluster is generated before the clock starts. `make bench` reports
// PlacementRate(1000, 10000).
func PlacementRate(nodes, vms int) (perSecond float64) {
	snap, queue := Synthetic(nodes, vms, 1)
	start := time.Now()
	s := NewState(snap)
	for _, vm := range queue {
		d, err := s.Place(vm)
		if err == nil {
			_ = s.Assign(vm, d.Node)
		}
	}
	return float64(len(queue)) / time.Since(start).Seconds()
}

// Synthetic returns a deterministic (per seed) cluster of nodes nodes with
// no VMs placed, and vms VMs to place, which fit with room to spare when
// vms ≤ 10 × nodes. It is exported for the lead's benchmark harness and
// the tests.
func Synthetic(nodes, vms int, seed uint64) (*Snapshot, []*api.VirtualMachine) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	snap := &Snapshot{
		Classes:      syntheticClasses(nodes),
		Disks:        map[string]*Disk{},
		ImageHolders: map[ImageKey][]string{},
	}
	zones := []string{"a", "b", "c"}
	for i := range nodes {
		n := &api.Node{Metadata: api.ObjectMeta{Name: fmt.Sprintf("node-%04d", i), Labels: map[string]string{
			"topology.kubernetes.io/zone": zones[i%len(zones)],
			"node-role/worker":            "",
		}}}
		cpus := []int64{32, 64, 96}[rng.IntN(3)]
		n.Status.Allocatable = api.ResourceAmounts{CPU: api.IntOrStringFromInt(cpus), Memory: api.NewQuantity(cpus * 4 << 30)}
		ready := api.ConditionTrue
		if i%97 == 13 {
			ready = api.ConditionFalse
		}
		n.Status.Conditions = []api.Condition{{Type: "Ready", Status: ready}}
		n.Spec.Unschedulable = i%101 == 7
		if i%10 == 3 {
			n.Spec.Taints = []api.Taint{{Key: "dedicated", Value: "db", Effect: api.TaintNoSchedule}}
		}
		snap.Nodes = append(snap.Nodes, n)
	}
	const images = 20
	for im := range images {
		key := ImageKey{Kind: api.KindClusterVirtualImage, Name: fmt.Sprintf("image-%02d", im)}
		for j := range nodes / 10 {
			snap.ImageHolders[key] = append(snap.ImageHolders[key], fmt.Sprintf("node-%04d", (im*37+j*7)%nodes))
		}
	}
	queue := make([]*api.VirtualMachine, vms)
	for i := range queue {
		queue[i] = syntheticVM(rng, i, images, snap)
	}
	return snap, queue
}

func syntheticClasses(nodes int) map[string]*api.VirtualMachineClass {
	generic := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: "generic"}}
	generic.Spec.CPU = api.ClassCPU{Type: api.CPUTypeModel, Model: "Nehalem"}
	generic.Status.Phase = api.ClassReady
	for i := range nodes {
		if i%5 != 4 { // the newest fifth cannot run Nehalem in this made-up cluster
			generic.Status.AvailableNodes = append(generic.Status.AvailableNodes, fmt.Sprintf("node-%04d", i))
		}
	}
	host := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: "host"}}
	host.Spec.CPU = api.ClassCPU{Type: api.CPUTypeHost}
	db := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: "db"}}
	db.Spec.CPU = api.ClassCPU{Type: api.CPUTypeHost}
	db.Spec.Tolerations = []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "db", Effect: api.TaintNoSchedule}}
	db.Spec.NodeSelector = &api.LabelSelector{MatchExpressions: []api.LabelSelectorRequirement{
		{Key: "topology.kubernetes.io/zone", Operator: api.OpIn, Values: []string{"a", "b"}},
	}}
	return map[string]*api.VirtualMachineClass{"generic": generic, "host": host, "db": db}
}

func syntheticVM(rng *rand.Rand, i, images int, snap *Snapshot) *api.VirtualMachine {
	vm := &api.VirtualMachine{Metadata: api.ObjectMeta{Name: fmt.Sprintf("vm-%05d", i), Namespace: fmt.Sprintf("ns-%d", i%50)}}
	cores := []int{1, 2, 2, 4, 4, 8}[rng.IntN(6)]
	fraction := []string{"5%", "10%", "20%", "50%", "100%"}[rng.IntN(5)]
	vm.Spec.VirtualMachineClassName = []string{"generic", "generic", "host", "db"}[rng.IntN(4)]
	vm.Spec.CPU = api.VMCPU{Cores: cores, CoreFraction: fraction, DedicatedCores: i%50 == 0}
	if vm.Spec.CPU.DedicatedCores {
		vm.Spec.CPU.CoreFraction = "100%"
	}
	vm.Spec.Memory.Size = api.NewQuantity(int64(cores) << 30 * int64(1+rng.IntN(2)))
	vm.Spec.BlockDeviceRefs = []api.BlockDeviceRef{{Kind: api.KindClusterVirtualImage, Name: fmt.Sprintf("image-%02d", rng.IntN(images))}}
	if i%3 == 0 {
		vm.Spec.NodeSelector = map[string]string{"topology.kubernetes.io/zone": []string{"a", "b"}[rng.IntN(2)]}
	}
	if i%4 == 0 { // a blank disk on shared storage
		name := "disk-" + vm.Metadata.Name
		snap.Disks[api.Key(vm.Metadata.Namespace, name)] = &Disk{AccessMode: api.AccessReadWriteMany}
		vm.Spec.BlockDeviceRefs = append(vm.Spec.BlockDeviceRefs, api.BlockDeviceRef{Kind: api.KindVirtualDisk, Name: name})
	}
	return vm
}
