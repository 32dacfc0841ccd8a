package api

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
