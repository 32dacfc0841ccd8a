package scheduler

import "davit/api"

type nodeOpt func(*api.Node)

func mkNode(name string, cpu int64, mem string, opts ...nodeOpt) *api.Node {
	n := &api.Node{Metadata: api.ObjectMeta{Name: name, Labels: map[string]string{}}}
	n.Status.Allocatable = api.ResourceAmounts{CPU: api.IntOrStringFromInt(cpu), Memory: api.MustParseQuantity(mem)}
	n.Status.Conditions = []api.Condition{{Type: "Ready", Status: api.ConditionTrue}}
	for _, o := range opts {
		o(n)
	}
	return n
}

func notReady(n *api.Node) { n.Status.Conditions[0].Status = api.ConditionFalse }
func noReadyCondition(n *api.Node) {
	n.Status.Conditions = nil
}
func cordoned(n *api.Node) { n.Spec.Unschedulable = true }

func tainted(key, value, effect string) nodeOpt {
	return func(n *api.Node) {
		n.Spec.Taints = append(n.Spec.Taints, api.Taint{Key: key, Value: value, Effect: effect})
	}
}

func labelled(kv ...string) nodeOpt {
	return func(n *api.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Metadata.Labels[kv[i]] = kv[i+1]
		}
	}
}

type vmOpt func(*api.VirtualMachine)

func mkVM(name string, cores int, fraction, mem string, opts ...vmOpt) *api.VirtualMachine {
	vm := &api.VirtualMachine{Metadata: api.ObjectMeta{Name: name, Namespace: "default"}}
	vm.Spec.VirtualMachineClassName = "host"
	vm.Spec.CPU = api.VMCPU{Cores: cores, CoreFraction: fraction}
	vm.Spec.Memory.Size = api.MustParseQuantity(mem)
	for _, o := range opts {
		o(vm)
	}
	return vm
}

func class(name string) vmOpt {
	return func(vm *api.VirtualMachine) { vm.Spec.VirtualMachineClassName = name }
}

func dedicated(vm *api.VirtualMachine) {
	vm.Spec.CPU.DedicatedCores = true
	vm.Spec.CPU.CoreFraction = "100%"
}

func on(node string, phase api.VMPhase) vmOpt {
	return func(vm *api.VirtualMachine) { vm.Status.NodeName, vm.Status.Phase = node, phase }
}

func withDisk(name string) vmOpt {
	return func(vm *api.VirtualMachine) {
		vm.Spec.BlockDeviceRefs = append(vm.Spec.BlockDeviceRefs, api.BlockDeviceRef{Kind: api.KindVirtualDisk, Name: name})
	}
}

func withImage(name string) vmOpt {
	return func(vm *api.VirtualMachine) {
		vm.Spec.BlockDeviceRefs = append(vm.Spec.BlockDeviceRefs, api.BlockDeviceRef{Kind: api.KindClusterVirtualImage, Name: name})
	}
}

func vmSelector(kv ...string) vmOpt {
	return func(vm *api.VirtualMachine) {
		vm.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			vm.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func tolerates(tol api.Toleration) vmOpt {
	return func(vm *api.VirtualMachine) { vm.Spec.Tolerations = append(vm.Spec.Tolerations, tol) }
}

func hostClass(name string) *api.VirtualMachineClass {
	c := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: name}}
	c.Spec.CPU.Type = api.CPUTypeHost
	return c
}

func modelClass(name string, available ...string) *api.VirtualMachineClass {
	c := &api.VirtualMachineClass{Metadata: api.ObjectMeta{Name: name}}
	c.Spec.CPU = api.ClassCPU{Type: api.CPUTypeModel, Model: "Nehalem"}
	if available != nil {
		c.Status.Phase = api.ClassReady
		c.Status.AvailableNodes = available
	}
	return c
}

func snapshot(nodes []*api.Node, vms []*api.VirtualMachine, classes ...*api.VirtualMachineClass) *Snapshot {
	s := &Snapshot{Nodes: nodes, VMs: vms, Classes: map[string]*api.VirtualMachineClass{}, Disks: map[string]*Disk{}}
	s.Classes["host"] = hostClass("host")
	for _, c := range classes {
		s.Classes[c.Metadata.Name] = c
	}
	return s
}
