package vmctl

import (
	"encoding/json"

	"davit/agent/imagectl"
	"davit/agent/scheduler"
	"davit/api"
)

// world is one read of the state the passes need.
type world struct {
	vms     []*api.VirtualMachine
	ops     []*api.VirtualMachineOperation
	nodes   []*api.Node
	classes map[string]*api.VirtualMachineClass
	disks   map[string]*api.VirtualDisk // by api.Key(namespace, name)
	scs     map[string]*api.StorageClass
}

// read lists what the passes use from the local state. Objects that do not
// decode are skipped (the API never stores such objects).
func (c *Controller) read() *world {
	w := &world{classes: map[string]*api.VirtualMachineClass{}, disks: map[string]*api.VirtualDisk{},
		scs: map[string]*api.StorageClass{}}
	each := func(kind string, f func(api.Resource)) {
		objs, _ := c.cluster.List(kind, "", nil)
		for _, o := range objs {
			if r, err := api.FromObject(o); err == nil {
				f(r)
			}
		}
	}
	each("VirtualMachine", func(r api.Resource) { w.vms = append(w.vms, r.(*api.VirtualMachine)) })
	each("VirtualMachineOperation", func(r api.Resource) { w.ops = append(w.ops, r.(*api.VirtualMachineOperation)) })
	each("Node", func(r api.Resource) { w.nodes = append(w.nodes, r.(*api.Node)) })
	each("VirtualMachineClass", func(r api.Resource) {
		vc := r.(*api.VirtualMachineClass)
		w.classes[vc.Metadata.Name] = vc
	})
	each("VirtualDisk", func(r api.Resource) {
		vd := r.(*api.VirtualDisk)
		w.disks[api.Key(vd.Metadata.Namespace, vd.Metadata.Name)] = vd
	})
	each("StorageClass", func(r api.Resource) {
		sc := r.(*api.StorageClass)
		w.scs[sc.Metadata.Name] = sc
	})
	return w
}

// snapshot is the scheduler's view of w.
func (c *Controller) snapshot(w *world) *scheduler.Snapshot {
	snap := &scheduler.Snapshot{Nodes: w.nodes, VMs: w.vms, Classes: w.classes, Disks: map[string]*scheduler.Disk{},
		ImageHolders: c.imageHolders()}
	for key, vd := range w.disks {
		var sc *api.StorageClass
		name := vd.Status.StorageClassName
		if name == "" {
			name = vd.Spec.PersistentVolumeClaim.StorageClassName
		}
		if name != "" {
			sc = w.scs[name]
		}
		bound := ""
		if vd.Status.Volume != nil {
			bound = vd.Status.Volume.Node
		}
		snap.Disks[key] = scheduler.NewDisk(vd, sc, bound)
	}
	return snap
}

// imageHolders lists, per image, the nodes whose content store holds its
// blob (the scheduler prefers them). Only placement needs it, so the node
// pass does not read it.
func (c *Controller) imageHolders() map[scheduler.ImageKey][]string {
	holders := map[scheduler.ImageKey][]string{}
	for _, kind := range []string{api.KindClusterVirtualImage, api.KindVirtualImage} {
		objs, _ := c.cluster.List(kind, "", nil)
		for _, o := range objs {
			var st imagectl.Status
			if json.Unmarshal(o.Status, &st) == nil && st.Blob != nil && len(st.Blob.Holders) > 0 {
				holders[scheduler.ImageKey{Kind: kind, Namespace: o.Metadata.Namespace, Name: o.Metadata.Name}] = st.Blob.Holders
			}
		}
	}
	return holders
}
