package api

// ClusterVirtualImage is a cluster-wide image kept in the images store.
type ClusterVirtualImage struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta                `json:"metadata"`
	Spec     ClusterVirtualImageSpec   `json:"spec"`
	Status   ClusterVirtualImageStatus `json:"status,omitzero"`
}

// ClusterVirtualImageSpec is the desired state of a CVI.
type ClusterVirtualImageSpec struct {
	DataSource DataSource `json:"dataSource"`
}

// ClusterVirtualImageStatus is the observed state of a CVI.
type ClusterVirtualImageStatus struct {
	ImageStatus      `json:",inline"`
	UsedInNamespaces []string `json:"usedInNamespaces,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *ClusterVirtualImage) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *ClusterVirtualImage) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// Default implements Defaulter; a CVI has no defaults.
func (r *ClusterVirtualImage) Default() {}

// Validate implements Validator. Unlike the reference, a '.' in the name
// is accepted: the admin guide's own ubuntu-22.04 must apply unchanged.
func (r *ClusterVirtualImage) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{})
	validateDataSource(&errs, "spec.dataSource", &r.Spec.DataSource, KindClusterVirtualImage)
	return errs
}

// ValidateUpdate implements Validator: the spec is frozen once Ready.
func (r *ClusterVirtualImage) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*ClusterVirtualImage)
	if !ok {
		return wrongKind(KindClusterVirtualImage, old)
	}
	var errs FieldErrors
	ready := o.Status.Phase == ImageReady || IsConditionTrue(o.Status.Conditions, "Ready")
	if ready && !semanticEqual(r.Spec, o.Spec) {
		errs.Add(ErrImmutable, "spec", "the spec is immutable once the image is Ready; delete and recreate the image to change it")
	}
	return errs
}
