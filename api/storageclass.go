package api

import (
	"fmt"
	"strings"
)

// StorageClass is where disks and volume-backed images are kept (davit/v1):
// a directory on each node (local) or a path mounted on every node
// (shared). The default class carries DefaultStorageClassAnnotation=true.
type StorageClass struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta       `json:"metadata"`
	Spec     StorageClassSpec `json:"spec"`
}

// Storage class values.
const (
	StorageTypeLocal  = "local"
	StorageTypeShared = "shared"

	ReclaimDelete = "Delete"
	ReclaimRetain = "Retain"

	BindingImmediate            = "Immediate"
	BindingWaitForFirstConsumer = "WaitForFirstConsumer"

	AccessReadWriteOnce = "ReadWriteOnce"
	AccessReadWriteMany = "ReadWriteMany"

	VolumeModeFileSystem = "FileSystem"
	VolumeModeBlock      = "Block"
)

// StorageClassSpec describes a storage class.
type StorageClassSpec struct {
	Provisioner          string   `json:"provisioner,omitempty"`
	Type                 string   `json:"type,omitempty"`
	Path                 string   `json:"path,omitempty"`
	ReclaimPolicy        string   `json:"reclaimPolicy,omitempty"`
	VolumeBindingMode    string   `json:"volumeBindingMode,omitempty"`
	AllowVolumeExpansion bool     `json:"allowVolumeExpansion,omitempty"`
	AccessModes          []string `json:"accessModes,omitempty"`
	VolumeModes          []string `json:"volumeModes,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *StorageClass) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *StorageClass) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// IsDefault reports whether the class is annotated as the default.
func (r *StorageClass) IsDefault() bool {
	return r.Metadata.Annotations[DefaultStorageClassAnnotation] == "true"
}

// Default implements Defaulter: provisioner davit.io/<type>, reclaim
// policy Delete, binding WaitForFirstConsumer for local and Immediate for
// shared, access mode ReadWriteOnce (local) or ReadWriteMany (shared),
// volume mode FileSystem.
func (r *StorageClass) Default() {
	s := &r.Spec
	if s.Type == "" {
		return // Validate reports it; nothing else can be derived
	}
	setDefault(&s.Provisioner, "davit.io/"+s.Type)
	setDefault(&s.ReclaimPolicy, ReclaimDelete)
	shared := s.Type == StorageTypeShared
	if shared {
		setDefault(&s.VolumeBindingMode, BindingImmediate)
	} else {
		setDefault(&s.VolumeBindingMode, BindingWaitForFirstConsumer)
	}
	if len(s.AccessModes) == 0 {
		s.AccessModes = []string{AccessReadWriteOnce}
		if shared {
			s.AccessModes = []string{AccessReadWriteMany}
		}
	}
	if len(s.VolumeModes) == 0 {
		s.VolumeModes = []string{VolumeModeFileSystem}
	}
}

// Validate implements Validator.
func (r *StorageClass) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{})
	s := &r.Spec
	requireEnum(&errs, "spec.type", s.Type, StorageTypeLocal, StorageTypeShared)
	if s.Path != "" && !strings.HasPrefix(s.Path, "/") {
		errs.Add(ErrInvalid, "spec.path", "must be an absolute path", s.Path)
	}
	checkEnum(&errs, "spec.reclaimPolicy", s.ReclaimPolicy, ReclaimDelete, ReclaimRetain)
	checkEnum(&errs, "spec.volumeBindingMode", s.VolumeBindingMode, BindingImmediate, BindingWaitForFirstConsumer)
	for i, m := range s.AccessModes {
		p := fmt.Sprintf("spec.accessModes[%d]", i)
		requireEnum(&errs, p, m, AccessReadWriteOnce, AccessReadWriteMany)
		if m == AccessReadWriteMany && s.Type == StorageTypeLocal {
			errs.Add(ErrForbidden, p, "a local class is on one node: it cannot be ReadWriteMany", m)
		}
	}
	for i, m := range s.VolumeModes {
		requireEnum(&errs, fmt.Sprintf("spec.volumeModes[%d]", i), m, VolumeModeFileSystem, VolumeModeBlock)
	}
	return errs
}

// ValidateUpdate implements Validator: the provisioner, type and path hold
// existing volumes and cannot change.
func (r *StorageClass) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*StorageClass)
	if !ok {
		return wrongKind("StorageClass", old)
	}
	var errs FieldErrors
	for _, f := range []struct{ path, new, old string }{
		{"spec.provisioner", r.Spec.Provisioner, o.Spec.Provisioner},
		{"spec.type", r.Spec.Type, o.Spec.Type},
		{"spec.path", r.Spec.Path, o.Spec.Path},
	} {
		if f.new != f.old {
			errs.Add(ErrImmutable, f.path, "immutable: volumes of this class live there", f.new)
		}
	}
	return errs
}

// PreferredMode is the volume and access mode a disk on this class takes:
// the best the class offers, in the reference's order of preference
// Block+ReadWriteMany, FileSystem+ReadWriteMany, Block+ReadWriteOnce,
// FileSystem+ReadWriteOnce (§4). A class that declares nothing gives
// FileSystem+ReadWriteOnce.
func (s StorageClassSpec) PreferredMode() (volumeMode, accessMode string) {
	has := func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	for _, m := range []struct{ access, volume string }{
		{AccessReadWriteMany, VolumeModeBlock}, {AccessReadWriteMany, VolumeModeFileSystem},
		{AccessReadWriteOnce, VolumeModeBlock}, {AccessReadWriteOnce, VolumeModeFileSystem},
	} {
		if has(s.AccessModes, m.access) && has(s.VolumeModes, m.volume) {
			return m.volume, m.access
		}
	}
	return VolumeModeFileSystem, AccessReadWriteOnce
}
