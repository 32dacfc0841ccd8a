package api

import "fmt"

// VirtualDisk is a VM's disk: a volume on a storage class, blank or filled
// from an image.
type VirtualDisk struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Spec     VirtualDiskSpec   `json:"spec"`
	Status   VirtualDiskStatus `json:"status,omitzero"`
}

// VirtualDiskSpec is the desired state of a VD.
type VirtualDiskSpec struct {
	DataSource            *DataSource    `json:"dataSource,omitempty"`
	PersistentVolumeClaim VirtualDiskPVC `json:"persistentVolumeClaim,omitzero"`
}

// VirtualDiskPVC is the disk's volume: size and storage class.
type VirtualDiskPVC struct {
	Size             *Quantity `json:"size,omitempty"`
	StorageClassName string    `json:"storageClassName,omitempty"`
}

// DiskPhase is the phase of a VD.
type DiskPhase string

// Disk phases.
const (
	DiskPending              DiskPhase = "Pending"
	DiskProvisioning         DiskPhase = "Provisioning"
	DiskWaitForUserUpload    DiskPhase = "WaitForUserUpload"
	DiskWaitForFirstConsumer DiskPhase = "WaitForFirstConsumer"
	DiskReady                DiskPhase = "Ready"
	DiskResizing             DiskPhase = "Resizing"
	DiskFailed               DiskPhase = "Failed"
	DiskPVCLost              DiskPhase = "PVCLost"
	DiskExporting            DiskPhase = "Exporting"
	DiskTerminating          DiskPhase = "Terminating"
	DiskMigrating            DiskPhase = "Migrating"
)

// VirtualDiskStatus is the observed state of a VD.
type VirtualDiskStatus struct {
	Phase                     DiskPhase                  `json:"phase,omitempty"`
	Capacity                  string                     `json:"capacity,omitempty"`
	Progress                  string                     `json:"progress,omitempty"`
	DownloadSpeed             *DownloadSpeed             `json:"downloadSpeed,omitempty"`
	Target                    DiskTarget                 `json:"target,omitzero"`
	ImageUploadURLs           *ImageUploadURLs           `json:"imageUploadURLs,omitempty"`
	AttachedToVirtualMachines []AttachedVirtualMachine   `json:"attachedToVirtualMachines,omitempty"`
	Stats                     *VirtualDiskStats          `json:"stats,omitempty"`
	SourceUID                 string                     `json:"sourceUID,omitempty"`
	StorageClassName          string                     `json:"storageClassName,omitempty"`
	MigrationState            *VirtualDiskMigrationState `json:"migrationState,omitempty"`
	// Volume is davit's own: where the disk's qcow2 file lives.
	Volume             *DiskVolume `json:"volume,omitempty"`
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
}

// DiskVolume is where a disk's volume lives (davit's own status field; the
// reference's PVC has no equivalent). On a local storage class Node is the
// node the disk is bound to, chosen by its first VM's placement
// (WaitForFirstConsumer), and the file exists only there; on a shared class
// Path is the same on every node and Node is the node that created the file.
// VolumeMode and AccessMode are the modes the disk took from its class
// (StorageClassSpec.PreferredMode).
type DiskVolume struct {
	Node       string `json:"node,omitempty"`
	Path       string `json:"path,omitempty"`
	Format     string `json:"format,omitempty"`
	VolumeMode string `json:"volumeMode,omitempty"`
	AccessMode string `json:"accessMode,omitempty"`
}

// DiskTarget names the disk's volume.
type DiskTarget struct {
	PersistentVolumeClaimName string `json:"persistentVolumeClaimName,omitempty"`
}

// AttachedVirtualMachine is a VM the disk is attached to.
type AttachedVirtualMachine struct {
	Name    string `json:"name"`
	Mounted bool   `json:"mounted,omitempty"`
}

// VirtualDiskStats are provisioning durations ("1m2s").
type VirtualDiskStats struct {
	CreationDuration *VirtualDiskCreationDuration `json:"creationDuration,omitempty"`
}

// VirtualDiskCreationDuration breaks provisioning time down.
type VirtualDiskCreationDuration struct {
	WaitingForDependencies  string `json:"waitingForDependencies,omitempty"`
	WaitingForFirstConsumer string `json:"waitingForFirstConsumer,omitempty"`
	DVCRProvisioning        string `json:"dvcrProvisioning,omitempty"`
	TotalProvisioning       string `json:"totalProvisioning,omitempty"`
}

// VirtualDiskMigrationState describes a volume migration.
type VirtualDiskMigrationState struct {
	SourcePVC      string `json:"sourcePVC,omitempty"`
	TargetPVC      string `json:"targetPVC,omitempty"`
	Result         string `json:"result,omitempty"`
	Message        string `json:"message,omitempty"`
	StartTimestamp *Time  `json:"startTimestamp,omitempty"`
	EndTimestamp   *Time  `json:"endTimestamp,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *VirtualDisk) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *VirtualDisk) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// Default implements Defaulter. The size default (the source's unpacked
// size) needs the source, so the controller fills it in.
func (r *VirtualDisk) Default() {}

// Validate implements Validator.
func (r *VirtualDisk) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{namespaced: true, noDots: true})
	if r.Spec.DataSource != nil {
		validateDataSource(&errs, "spec.dataSource", r.Spec.DataSource, KindVirtualDisk)
	}
	pvc := r.Spec.PersistentVolumeClaim
	switch {
	case pvc.Size == nil && r.Spec.DataSource == nil:
		errs.Add(ErrRequired, "spec.persistentVolumeClaim.size", "a blank disk (no dataSource) needs a size")
	case pvc.Size != nil && pvc.Size.Bytes() <= 0:
		errs.Add(ErrInvalid, "spec.persistentVolumeClaim.size", "must be greater than 0", pvc.Size.String())
	}
	if pvc.StorageClassName != "" {
		checkRefName(&errs, "spec.persistentVolumeClaim.storageClassName", pvc.StorageClassName)
	}
	return errs
}

// ValidateUpdate implements Validator (reference §4 "Mutability").
func (r *VirtualDisk) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*VirtualDisk)
	if !ok {
		return wrongKind(KindVirtualDisk, old)
	}
	var errs FieldErrors
	if terminating(&r.Metadata, &o.Metadata) {
		if !semanticEqual(r.Spec, o.Spec) {
			errs.Add(ErrImmutable, "spec", "the spec is immutable while the disk is Terminating")
		}
		return errs
	}
	ph := o.Status.Phase
	if ph == "" || ph == DiskPending || ph == DiskProvisioning || ph == DiskWaitForFirstConsumer {
		return nil // anything may change; creation restarts
	}
	frozen := ph == DiskReady || ph == DiskMigrating || ph == DiskPVCLost || IsConditionTrue(o.Status.Conditions, "Ready")
	if frozen && !semanticEqual(r.Spec.DataSource, o.Spec.DataSource) {
		errs.Add(ErrImmutable, "spec.dataSource", fmt.Sprintf("immutable once the disk is %s", frozenWord(ph)))
	}
	validateSizeChange(&errs, r.Spec.PersistentVolumeClaim.Size, o.Spec.PersistentVolumeClaim.Size, ph)
	return errs
}

func validateSizeChange(errs *FieldErrors, size, oldSize *Quantity, ph DiskPhase) {
	const path = "spec.persistentVolumeClaim.size"
	switch {
	case oldSize == nil:
	case size == nil:
		errs.Add(ErrForbidden, path, "cannot be removed once the disk is provisioned")
	case ph == DiskMigrating && size.Cmp(*oldSize) != 0:
		errs.Add(ErrForbidden, path, "cannot change while the disk is Migrating")
	case size.Cmp(*oldSize) < 0:
		errs.Add(ErrForbidden, path, fmt.Sprintf("can only grow: %s is smaller than %s", size, oldSize), size.String())
	}
}

func frozenWord(ph DiskPhase) string {
	if ph == DiskMigrating || ph == DiskPVCLost {
		return string(ph)
	}
	return "Ready"
}
