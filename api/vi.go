package api

// VirtualImage is a namespaced image, kept in the images store or on a
// volume.
type VirtualImage struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta         `json:"metadata"`
	Spec     VirtualImageSpec   `json:"spec"`
	Status   VirtualImageStatus `json:"status,omitzero"`
}

// VirtualImage storage types.
const (
	StorageContainerRegistry     = "ContainerRegistry"
	StoragePersistentVolumeClaim = "PersistentVolumeClaim"
	StorageKubernetes            = "Kubernetes" // deprecated
)

// VirtualImageSpec is the desired state of a VI.
type VirtualImageSpec struct {
	DataSource            DataSource       `json:"dataSource"`
	Storage               string           `json:"storage,omitempty"`
	PersistentVolumeClaim *VirtualImagePVC `json:"persistentVolumeClaim,omitempty"`
}

// VirtualImagePVC picks the storage class of a volume-backed image.
type VirtualImagePVC struct {
	StorageClassName string `json:"storageClassName,omitempty"`
}

// VirtualImageStatus is the observed state of a VI.
type VirtualImageStatus struct {
	ImageStatus      `json:",inline"`
	StorageClassName string `json:"storageClassName,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *VirtualImage) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *VirtualImage) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// Default implements Defaulter: storage ContainerRegistry.
func (r *VirtualImage) Default() {
	if r.Spec.Storage == "" {
		r.Spec.Storage = StorageContainerRegistry
	}
}

// Validate implements Validator.
func (r *VirtualImage) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{namespaced: true, noDots: true})
	validateDataSource(&errs, "spec.dataSource", &r.Spec.DataSource, KindVirtualImage)
	requireEnum(&errs, "spec.storage", r.Spec.Storage,
		StorageContainerRegistry, StoragePersistentVolumeClaim, StorageKubernetes)
	if pvc := r.Spec.PersistentVolumeClaim; pvc != nil {
		if r.Spec.Storage == StorageContainerRegistry {
			errs.Add(ErrForbidden, "spec.persistentVolumeClaim", "allowed only with storage PersistentVolumeClaim")
		}
		if pvc.StorageClassName != "" {
			checkRefName(&errs, "spec.persistentVolumeClaim.storageClassName", pvc.StorageClassName)
		}
	}
	return errs
}

// ValidateUpdate implements Validator: dataSource and storageClassName are
// frozen once Ready (or ImageLost, PVCLost), the whole spec while
// Terminating.
func (r *VirtualImage) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*VirtualImage)
	if !ok {
		return wrongKind(KindVirtualImage, old)
	}
	var errs FieldErrors
	if terminating(&r.Metadata, &o.Metadata) {
		if !semanticEqual(r.Spec, o.Spec) {
			errs.Add(ErrImmutable, "spec", "the spec is immutable while the image is Terminating")
		}
		return errs
	}
	ph := o.Status.Phase
	if ph != ImageReady && ph != ImageLost && ph != ImagePVCLost && !IsConditionTrue(o.Status.Conditions, "Ready") {
		return nil
	}
	if !semanticEqual(r.Spec.DataSource, o.Spec.DataSource) {
		errs.Add(ErrImmutable, "spec.dataSource", "immutable once the image is "+readyWord(ph))
	}
	if r.storageClassName() != o.storageClassName() {
		errs.Add(ErrImmutable, "spec.persistentVolumeClaim.storageClassName", "immutable once the image is "+readyWord(ph))
	}
	return errs
}

func (r *VirtualImage) storageClassName() string {
	if r.Spec.PersistentVolumeClaim == nil {
		return ""
	}
	return r.Spec.PersistentVolumeClaim.StorageClassName
}

func readyWord(ph ImagePhase) string {
	if ph == ImageLost || ph == ImagePVCLost {
		return string(ph)
	}
	return "Ready"
}
