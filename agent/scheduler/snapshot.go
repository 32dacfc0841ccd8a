package scheduler

import (
	"strconv"
	"strings"

	"davit/api"
	"davit/cgroup"
)

// Snapshot is the part of the cluster state placement reads. The scheduler
// never modifies it.
type Snapshot struct {
	// Nodes are every node of the cluster, in any order.
	Nodes []*api.Node
	// VMs are the VMs that may use node resources: those with
	// status.nodeName set (running, or placed and about to start). Others
	// are ignored, so passing every VM is fine.
	VMs []*api.VirtualMachine
	// Classes are the VM classes by name.
	Classes map[string]*api.VirtualMachineClass
	// Disks are the VMs' disks by api.Key(namespace, name). Every disk a VM
	// to be placed refers to must be here.
	Disks map[string]*Disk
	// ImageHolders lists, per image, the nodes whose content store holds
	// its blob. Optional: it only adds to the score.
	ImageHolders map[ImageKey][]string
}

// Disk is a VirtualDisk with the two facts placement needs that the disk's
// status does not carry: where its volume lives and whether several nodes
// can open it.
type Disk struct {
	// VD is the disk (for its name in messages; may be nil in tests).
	VD *api.VirtualDisk
	// BoundNode is the node a node-local volume was created on (a local
	// storage class binds on the node of the disk's first VM). Empty when
	// the volume does not exist yet or lives on shared storage.
	BoundNode string
	// AccessMode is the storage class's access mode:
	// api.AccessReadWriteOnce (empty means the same) or
	// api.AccessReadWriteMany.
	AccessMode string
}

// NewDisk describes vd for placement: its access mode is ReadWriteMany when
// its storage class sc offers it (reference §4 prefers RWX), else
// ReadWriteOnce (also when sc is nil); boundNode, the node its volume was
// created on, is kept only for a class that is not shared.
func NewDisk(vd *api.VirtualDisk, sc *api.StorageClass, boundNode string) *Disk {
	d := &Disk{VD: vd, AccessMode: api.AccessReadWriteOnce, BoundNode: boundNode}
	if sc == nil {
		return d
	}
	for _, m := range sc.Spec.AccessModes {
		if m == api.AccessReadWriteMany {
			d.AccessMode = api.AccessReadWriteMany
		}
	}
	if sc.Spec.Type == api.StorageTypeShared {
		d.BoundNode = ""
	}
	return d
}

// readWriteMany reports whether several VMs may attach the disk.
func (d *Disk) readWriteMany() bool { return d.AccessMode == api.AccessReadWriteMany }

// ImageKey names an image: a ClusterVirtualImage (Namespace empty) or a
// VirtualImage.
type ImageKey struct {
	Kind      string
	Namespace string
	Name      string
}

// ImageKeyOf returns the image a VM's block device refers to; ok is false
// for a disk.
func ImageKeyOf(vmNamespace string, ref api.BlockDeviceRef) (key ImageKey, ok bool) {
	switch ref.Kind {
	case api.KindClusterVirtualImage:
		return ImageKey{Kind: ref.Kind, Name: ref.Name}, true
	case api.KindVirtualImage:
		return ImageKey{Kind: ref.Kind, Namespace: vmNamespace, Name: ref.Name}, true
	}
	return ImageKey{}, false
}

// Memory overhead of a VM beyond its guest memory. They are the cgroup
// package's figures, the ones the VM's memory limit is made of, so the
// scheduler admits exactly what the node will enforce.
const (
	// PerVCPUMemoryOverhead is 8 MiB per vCPU, the reference's
	// status.resources.memory.runtimeOverhead.
	PerVCPUMemoryOverhead = cgroup.PerVCPUMemoryOverhead
	// FixedMemoryOverhead is paid once per VM (QEMU, device models, buffers).
	FixedMemoryOverhead = cgroup.FixedMemoryOverhead
)

// MemoryOverhead is what a VM with cores vCPUs and memBytes of guest
// memory needs on top of that memory: cgroup.MemoryOverhead, that is
// FixedMemoryOverhead + PerVCPUMemoryOverhead × cores + memBytes/512 (page
// tables).
func MemoryOverhead(cores int, memBytes int64) int64 {
	return cgroup.MemoryOverhead(cores, memBytes)
}

// Demand is what a VM takes from its node.
type Demand struct {
	// CPUMilli is the guaranteed CPU in milli-CPUs.
	CPUMilli int64
	// MemoryBytes is the memory plus MemoryOverhead.
	MemoryBytes int64
	// DedicatedCores is the number of host CPUs the VM takes for itself
	// (its cores when spec.cpu.dedicatedCores is set, else 0).
	DedicatedCores int64
}

func (d Demand) add(o Demand) Demand {
	return Demand{d.CPUMilli + o.CPUMilli, d.MemoryBytes + o.MemoryBytes, d.DedicatedCores + o.DedicatedCores}
}

func (d Demand) sub(o Demand) Demand {
	return Demand{d.CPUMilli - o.CPUMilli, d.MemoryBytes - o.MemoryBytes, d.DedicatedCores - o.DedicatedCores}
}

func (d Demand) max(o Demand) Demand {
	return Demand{max(d.CPUMilli, o.CPUMilli), max(d.MemoryBytes, o.MemoryBytes), max(d.DedicatedCores, o.DedicatedCores)}
}

// DemandOf is the VM's demand: from its spec, or from status.resources
// where the running instance is bigger (a shrink waiting for a restart).
// An unset or unparsable coreFraction counts as 100%, and so does "Auto"
// until status.recommendedResources names a fraction.
func DemandOf(vm *api.VirtualMachine) Demand {
	d := specDemand(vm)
	if r := vm.Status.Resources; r != nil && r.CPU.Cores > 0 {
		mem, err := api.ParseQuantity(r.Memory.Size)
		if err != nil {
			mem = vm.Spec.Memory.Size
		}
		fraction := r.CPU.CoreFraction
		if fraction == "" {
			fraction = vm.Spec.CPU.CoreFraction
		}
		d = d.max(demand(r.CPU.Cores, fractionPercent(fraction, vm), mem.Bytes(), vm.Spec.CPU.DedicatedCores))
	}
	return d
}

func specDemand(vm *api.VirtualMachine) Demand {
	c := vm.Spec.CPU
	return demand(c.Cores, fractionPercent(c.CoreFraction, vm), vm.Spec.Memory.Size.Bytes(), c.DedicatedCores)
}

func demand(cores, percent int, mem int64, dedicated bool) Demand {
	cores = max(cores, 1)
	d := Demand{CPUMilli: int64(cores) * int64(percent) * 10, MemoryBytes: mem + MemoryOverhead(cores, mem)}
	if dedicated {
		d.CPUMilli = int64(cores) * 1000
		d.DedicatedCores = int64(cores)
	}
	return d
}

// fractionPercent parses "20%" to 20. "Auto" is the recommended fraction
// when there is one; anything else unusable is 100.
func fractionPercent(s string, vm *api.VirtualMachine) int {
	if s == "Auto" {
		if rr := vm.Status.RecommendedResources; rr != nil && rr.CPU != nil && rr.CPU.CoreFraction != "Auto" {
			return fractionPercent(rr.CPU.CoreFraction, vm)
		}
		return 100
	}
	f, ok := api.ParseFraction(s)
	if !ok || f.Percent < 1 || f.Percent > 100 {
		return 100
	}
	return f.Percent
}

// cpuMilli reads a node's CPU amount ("4", 4, "3500m", "2.5") as
// milli-CPUs; ok is false when it cannot.
func cpuMilli(v api.IntOrString) (int64, bool) {
	if !v.IsString {
		return v.IntVal * 1000, v.IntVal >= 0
	}
	s := strings.TrimSpace(v.StrVal)
	if m, ok := strings.CutSuffix(s, "m"); ok {
		n, err := strconv.ParseInt(m, 10, 64)
		return n, err == nil && n >= 0
	}
	whole, frac, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < 0 || len(frac) > 3 {
		return 0, false
	}
	milli := n * 1000
	if frac != "" {
		f, err := strconv.ParseInt((frac + "00")[:3], 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		milli += f
	}
	return milli, true
}

// occupies reports whether the VM takes resources on status.nodeName.
func occupies(vm *api.VirtualMachine) bool {
	return vm.Status.NodeName != "" && vm.Status.Phase != api.VMStopped
}

// migrationTarget is the node a Migrating VM is being copied to, or "".
func migrationTarget(vm *api.VirtualMachine) string {
	ms := vm.Status.MigrationState
	if vm.Status.Phase != api.VMMigrating || ms == nil || ms.Target == nil || ms.Result != "" {
		return ""
	}
	return ms.Target.Node
}

// diskKeys returns the keys of every disk the VM uses: in its spec and,
// for hot-plugged ones, in its status.
func diskKeys(vm *api.VirtualMachine) []string {
	var keys []string
	add := func(kind, name string) {
		if kind != api.KindVirtualDisk {
			return
		}
		k := api.Key(vm.Metadata.Namespace, name)
		for _, have := range keys {
			if have == k {
				return
			}
		}
		keys = append(keys, k)
	}
	for _, r := range vm.Spec.BlockDeviceRefs {
		add(r.Kind, r.Name)
	}
	for _, r := range vm.Status.BlockDeviceRefs {
		add(r.Kind, r.Name)
	}
	return keys
}

func vmKey(vm *api.VirtualMachine) string { return api.Key(vm.Metadata.Namespace, vm.Metadata.Name) }
