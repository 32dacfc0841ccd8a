package diskctl

import (
	"fmt"
	"slices"

	"davit/api"
)

// leaderPlan is the leader's decision for one disk: the status it should
// have and what to do with the finalizer.
type leaderPlan struct {
	status          api.VirtualDiskStatus
	addFinalizer    bool
	removeFinalizer bool
}

// planLeader decides one disk. It is pure: it reads the world and the
// disk and returns a plan. It never changes what the bound node owns
// (provisioning outcome, capacity, path) except to start a resize.
func (w *world) planLeader(d *disk) leaderPlan {
	st := cloneStatus(d.status)
	gen := d.gen()
	st.ObservedGeneration = gen
	w.usage(d, &st)
	if d.deleting() {
		st.Phase, st.Progress = api.DiskTerminating, ""
		// An unbound disk has no file; a bound one is released by its node
		// once it has deleted the file.
		release := d.hasFinal() && d.node() == "" && len(w.inUse(d)) == 0
		return leaderPlan{status: st, removeFinalizer: release}
	}
	out := leaderPlan{addFinalizer: !d.hasFinal()}
	initConds(&st, gen, w.now)
	if d.node() == "" {
		w.planUnbound(d, &st, out.addFinalizer)
	} else {
		w.planResize(d, &st)
	}
	out.status = st
	return out
}

// usage sets attachedToVirtualMachines and the InUse condition.
func (w *world) usage(d *disk, st *api.VirtualDiskStatus) {
	st.AttachedToVirtualMachines = nil
	for _, u := range w.users[d.key()] {
		st.AttachedToVirtualMachines = append(st.AttachedToVirtualMachines,
			api.AttachedVirtualMachine{Name: u.name, Mounted: u.mounted()})
	}
	if hold := w.inUse(d); len(hold) > 0 {
		setCond(st, condInUse, api.ConditionTrue, reasonAttachedToVM, "attached to VirtualMachine "+vmNames(hold), d.gen(), w.now)
		return
	}
	setCond(st, condInUse, api.ConditionFalse, reasonNotInUse, "", d.gen(), w.now)
}

// planUnbound moves a disk that has no node yet: storage class, data
// source, then binding. Until it is bound everything is recomputed from
// the spec, so an edit "restarts creation" as the reference says.
func (w *world) planUnbound(d *disk, st *api.VirtualDiskStatus, noFinalizer bool) {
	gen, now := d.gen(), w.now
	st.Capacity, st.Progress, st.Volume = "", "", nil
	name, err := ResolveStorageClass(d.spec.PersistentVolumeClaim.StorageClassName, w.settings, w.classList())
	if err != nil {
		st.Phase, st.StorageClassName = api.DiskPending, ""
		setCond(st, condClass, api.ConditionFalse, reasonClassNotReady, err.Error(), gen, now)
		setCond(st, condReady, api.ConditionFalse, reasonClassIsNotReady, "waiting for a storage class: "+err.Error(), gen, now)
		return
	}
	sc := w.classes[name]
	st.StorageClassName = name
	if w.classDir(sc) == "" {
		msg := fmt.Sprintf("storage class %s is shared but has no spec.path: set the path every node mounts", name)
		st.Phase = api.DiskPending
		setCond(st, condClass, api.ConditionFalse, reasonClassNotReady, msg, gen, now)
		setCond(st, condReady, api.ConditionFalse, reasonClassIsNotReady, msg, gen, now)
		return
	}
	setCond(st, condClass, api.ConditionTrue, reasonClassReady, "", gen, now)
	if !w.planSource(d, st) {
		return
	}
	node := w.bindNode(d, sc)
	switch {
	case node == "" && sc.Spec.VolumeBindingMode == api.BindingWaitForFirstConsumer:
		st.Phase = api.DiskWaitForFirstConsumer
		setCond(st, condReady, api.ConditionFalse, reasonWFFC, fmt.Sprintf("storage class %s binds a disk on "+
			"the node of the first VM that uses it: waiting for such a VM to be placed", name), gen, now)
	case node == "":
		st.Phase = api.DiskPending
		setCond(st, condReady, api.ConditionFalse, reasonNotStarted, "no Ready node to create the disk on", gen, now)
	case noFinalizer:
		st.Phase = api.DiskPending // bind only once the finalizer protects the file
	default:
		if st.Phase == api.DiskWaitForFirstConsumer && d.obj.Metadata.CreationTimestamp != nil {
			creation(st).WaitingForFirstConsumer = duration(now.Sub(d.obj.Metadata.CreationTimestamp.Time))
		}
		st.Phase, st.Progress = api.DiskProvisioning, "0%"
		st.Volume = &api.DiskVolume{Node: node}
		st.Volume.VolumeMode, st.Volume.AccessMode = sc.Spec.PreferredMode()
		st.Target.PersistentVolumeClaimName = pvcName(d)
		setCond(st, condReady, api.ConditionFalse, reasonProvisioning, "creating the disk on node "+node, gen, now)
	}
}

// planSource checks the data source and reports whether provisioning may
// go on. It sets DatasourceReady and, when it stops, the phase and Ready.
func (w *world) planSource(d *disk, st *api.VirtualDiskStatus) bool {
	gen, now := d.gen(), w.now
	stop := func(dsReason, readyReason, msg string) bool {
		st.Phase = api.DiskPending
		setCond(st, condDatasource, api.ConditionFalse, dsReason, msg, gen, now)
		setCond(st, condReady, api.ConditionFalse, readyReason, msg, gen, now)
		return false
	}
	ds := d.spec.DataSource
	if ds == nil {
		st.SourceUID = ""
		setCond(st, condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, now)
		return true
	}
	unsupported := fmt.Sprintf("dataSource.type %s is not supported for disks in this version of davit: "+
		"only blank disks and disks from a ClusterVirtualImage or VirtualImage (objectRef); "+
		"import the data into an image and refer to it", ds.Type)
	if ds.Type != api.DataSourceTypeObjectRef || ds.ObjectRef == nil {
		return stop(reasonNotStarted, reasonNotStarted, unsupported)
	}
	or := ds.ObjectRef
	r := imageRef{kind: or.Kind, name: or.Name}
	notFound, notReady := reasonClusterImageNotFd, reasonClusterImageNotRd
	switch or.Kind {
	case api.KindClusterVirtualImage:
	case api.KindVirtualImage:
		r.namespace, notFound, notReady = d.ns(), reasonImageNotFound, reasonImageNotReady
	default:
		msg := fmt.Sprintf("creating a disk from a %s is not supported in this version of davit: "+
			"only blank disks and disks from a ClusterVirtualImage or VirtualImage", or.Kind)
		return stop(reasonSnapshotNotReady, reasonNotStarted, msg)
	}
	what := or.Kind + " " + api.Key(r.namespace, r.name)
	im, ok := w.images[r]
	switch {
	case !ok:
		return stop(notFound, reasonDatasourceNotFound, what+" does not exist")
	case im.phase != api.ImageReady || im.digest == "":
		return stop(notReady, reasonDatasourceNotReady, fmt.Sprintf("%s is not Ready (phase %q)", what, im.phase))
	}
	st.SourceUID = im.uid
	setCond(st, condDatasource, api.ConditionTrue, reasonDatasourceReady, "", gen, now)
	return true
}

// bindNode is the node the disk's file should be created on, or "" to
// wait: for a WaitForFirstConsumer class the node of the first placed VM
// that uses the disk (by name); otherwise that node too when there is
// one, else this (the leader's) node when it is Ready, else the first
// Ready node.
func (w *world) bindNode(d *disk, sc *api.StorageClass) string {
	for _, u := range w.users[d.key()] {
		if u.consumer() {
			return u.node
		}
	}
	if sc.Spec.VolumeBindingMode == api.BindingWaitForFirstConsumer {
		return ""
	}
	if ready, known := w.ready[w.me]; ready || !known {
		return w.me // a node without a Ready condition yet is a new cluster's first node
	}
	var nodes []string
	for n, ok := range w.ready {
		if ok {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	if len(nodes) == 0 {
		return ""
	}
	return nodes[0]
}

// planResize starts growing a Ready disk whose spec size passed its
// capacity, when the class allows it.
func (w *world) planResize(d *disk, st *api.VirtualDiskStatus) {
	gen, now := d.gen(), w.now
	want, have := d.specSize(), d.capacity()
	if st.Phase != api.DiskReady || have == 0 || want <= have {
		if st.Phase == api.DiskReady {
			dropCond(st, condResizing)
		}
		return
	}
	sc := w.classes[st.StorageClassName]
	if sc != nil && !sc.Spec.AllowVolumeExpansion {
		setCond(st, condResizing, api.ConditionFalse, reasonResizeNotAvailable, fmt.Sprintf(
			"storage class %s does not allow volume expansion (spec.allowVolumeExpansion)", sc.Metadata.Name), gen, now)
		return
	}
	st.Phase = api.DiskResizing
	setCond(st, condResizing, api.ConditionTrue, reasonResizeInProgress, fmt.Sprintf("growing the disk from %s to %s",
		api.NewQuantity(have), api.NewQuantity(want)), gen, now)
}
