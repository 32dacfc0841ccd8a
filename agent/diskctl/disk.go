package diskctl

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"davit/api"
)

// Finalizer keeps a deleted disk until its file is gone and no VM uses it.
const Finalizer = "davit.io/disks"

// Condition types and reasons of the reference (api.md §4).
const (
	condDatasource = "DatasourceReady"
	condReady      = "Ready"
	condClass      = "StorageClassReady"
	condInUse      = "InUse"
	condResizing   = "Resizing"

	reasonUnknown            = "Unknown"
	reasonDatasourceReady    = "DatasourceReady"
	reasonImageNotReady      = "ImageNotReady"
	reasonClusterImageNotRd  = "ClusterImageNotReady"
	reasonImageNotFound      = "ImageNotFound"
	reasonClusterImageNotFd  = "ClusterImageNotFound"
	reasonSnapshotNotReady   = "VirtualDiskSnapshot"
	reasonClassReady         = "StorageClassReady"
	reasonClassNotReady      = "StorageClassNotReady"
	reasonClassIsNotReady    = "StorageClassIsNotReady"
	reasonDatasourceNotReady = "DatasourceIsNotReady"
	reasonDatasourceNotFound = "DatasourceIsNotFound"
	reasonNotStarted         = "ProvisioningNotStarted"
	reasonWFFC               = "WaitingForFirstConsumer"
	reasonProvisioning       = "Provisioning"
	reasonFailed             = "ProvisioningFailed"
	reasonReady              = "Ready"
	reasonAttachedToVM       = "AttachedToVirtualMachine"
	reasonNotInUse           = "NotInUse"
	reasonResizeInProgress   = "InProgress"
	reasonResizeNotAvailable = "NotAvailable"
)

// disk is a VirtualDisk read from the store, spec and status decoded.
type disk struct {
	obj    *api.Object
	spec   api.VirtualDiskSpec
	status api.VirtualDiskStatus
}

func decodeDisk(obj *api.Object) (*disk, error) {
	d := &disk{obj: obj}
	if len(obj.Spec) > 0 {
		if err := json.Unmarshal(obj.Spec, &d.spec); err != nil {
			return nil, fmt.Errorf("decode VirtualDisk %s spec: %w", obj.Key(), err)
		}
	}
	if len(obj.Status) > 0 {
		if err := json.Unmarshal(obj.Status, &d.status); err != nil {
			return nil, fmt.Errorf("decode VirtualDisk %s status: %w", obj.Key(), err)
		}
	}
	return d, nil
}

func (d *disk) key() string     { return d.obj.Key() }
func (d *disk) ns() string      { return d.obj.Metadata.Namespace }
func (d *disk) name() string    { return d.obj.Metadata.Name }
func (d *disk) uid() string     { return d.obj.Metadata.UID }
func (d *disk) gen() int64      { return d.obj.Metadata.Generation }
func (d *disk) deleting() bool  { return d.obj.Metadata.DeletionTimestamp != nil }
func (d *disk) hasFinal() bool  { return slices.Contains(d.obj.Metadata.Finalizers, Finalizer) }
func (d *disk) node() string    { return volumeNode(&d.status) }
func (d *disk) specSize() int64 { return quantityBytes(d.spec.PersistentVolumeClaim.Size) }

// capacity is status.capacity in bytes (0 when unset or unreadable).
func (d *disk) capacity() int64 {
	if d.status.Capacity == "" {
		return 0
	}
	q, err := api.ParseQuantity(d.status.Capacity)
	if err != nil {
		return 0
	}
	return q.Bytes()
}

func volumeNode(st *api.VirtualDiskStatus) string {
	if st.Volume == nil {
		return ""
	}
	return st.Volume.Node
}

func quantityBytes(q *api.Quantity) int64 {
	if q == nil {
		return 0
	}
	return q.Bytes()
}

// pvcName is target.persistentVolumeClaimName: davit has no PVC, but the
// name identifies the disk's volume as the reference's column expects.
func pvcName(d *disk) string {
	uid := d.uid()
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return "vd-" + d.name() + "-" + uid
}

// fileName is the disk file's name inside its class's namespace directory.
func fileName(uid string) string { return "vd-" + uid + ".qcow2" }

// cloneStatus is a deep copy, so plans never modify what they read.
func cloneStatus(st api.VirtualDiskStatus) api.VirtualDiskStatus {
	b, err := json.Marshal(st)
	if err != nil {
		panic("diskctl: marshal status: " + err.Error()) // every field marshals
	}
	var c api.VirtualDiskStatus
	if err := json.Unmarshal(b, &c); err != nil {
		panic("diskctl: unmarshal status: " + err.Error())
	}
	return c
}

// setCond sets a condition, keeping its transition time when its status
// does not change.
func setCond(st *api.VirtualDiskStatus, typ string, status api.ConditionStatus, reason, msg string, gen int64, now time.Time) {
	st.Conditions = api.SetCondition(st.Conditions, api.Condition{
		Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
	}, now)
}

func dropCond(st *api.VirtualDiskStatus, typ string) {
	st.Conditions = slices.DeleteFunc(slices.Clone(st.Conditions), func(c api.Condition) bool { return c.Type == typ })
	if len(st.Conditions) == 0 {
		st.Conditions = nil
	}
}

// initConds gives a new disk its conditions, Unknown as the reference
// starts them.
func initConds(st *api.VirtualDiskStatus, gen int64, now time.Time) {
	for _, t := range []string{condDatasource, condReady, condClass} {
		if api.FindCondition(st.Conditions, t) == nil {
			setCond(st, t, api.ConditionUnknown, reasonUnknown, "", gen, now)
		}
	}
}

// markFailed turns the status into Failed with the error, as a user can
// act on it.
func markFailed(st *api.VirtualDiskStatus, msg string, gen int64, now time.Time) {
	st.Phase, st.Progress = api.DiskFailed, ""
	setCond(st, condReady, api.ConditionFalse, reasonFailed, msg, gen, now)
}

// markReady records a provisioned file.
func markReady(d *disk, st *api.VirtualDiskStatus, path string, capacity int64, now time.Time) {
	st.Phase, st.Progress = api.DiskReady, "100%"
	st.Capacity = api.NewQuantity(capacity).String()
	st.Volume.Path, st.Volume.Format = path, "qcow2"
	st.Target.PersistentVolumeClaimName = pvcName(d)
	if c := d.obj.Metadata.CreationTimestamp; c != nil {
		cd := creation(st)
		cd.TotalProvisioning = duration(now.Sub(c.Time))
	}
	setCond(st, condReady, api.ConditionTrue, reasonReady, "", d.gen(), now)
}

// creation returns status.stats.creationDuration, creating it.
func creation(st *api.VirtualDiskStatus) *api.VirtualDiskCreationDuration {
	if st.Stats == nil {
		st.Stats = &api.VirtualDiskStats{}
	}
	if st.Stats.CreationDuration == nil {
		st.Stats.CreationDuration = &api.VirtualDiskCreationDuration{}
	}
	return st.Stats.CreationDuration
}

func duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func created(c *api.StorageClass) time.Time {
	if c.Metadata.CreationTimestamp == nil {
		return time.Time{}
	}
	return c.Metadata.CreationTimestamp.Time
}

// vmName names a VM for messages: "vm1, vm2".
func vmNames(us []vmUse) string {
	names := make([]string, 0, len(us))
	for _, u := range us {
		names = append(names, u.name)
	}
	return strings.Join(names, ", ")
}
