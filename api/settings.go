package api

// SettingsName is the name of the one Settings object.
const SettingsName = "cluster"

// Settings holds the cluster-wide settings (davit/v1, a singleton named
// "cluster"), the counterpart of the reference's module settings.
type Settings struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta   `json:"metadata"`
	Spec     SettingsSpec `json:"spec"`
}

// SettingsSpec is the cluster's settings. Every section is optional.
type SettingsSpec struct {
	VirtualImages         *StorageClassSettings  `json:"virtualImages,omitempty"`
	VirtualDisks          *StorageClassSettings  `json:"virtualDisks,omitempty"`
	ImageReplicas         *int                   `json:"imageReplicas,omitempty"`
	MaxUnpackedImageBytes *Quantity              `json:"maxUnpackedImageBytes,omitempty"`
	VirtualMachineCIDRs   []string               `json:"virtualMachineCIDRs,omitempty"`
	LiveMigration         *LiveMigrationSettings `json:"liveMigration,omitempty"`
	FeatureGates          []string               `json:"featureGates,omitempty"`
}

// StorageClassSettings picks and restricts the storage classes of images
// or disks. AllowedStorageClassNames is the admin guide's spelling of
// AllowedStorageClassSelector.MatchNames; StorageClassName is the
// deprecated alias of DefaultStorageClassName.
type StorageClassSettings struct {
	DefaultStorageClassName     string                `json:"defaultStorageClassName,omitempty"`
	StorageClassName            string                `json:"storageClassName,omitempty"`
	AllowedStorageClassSelector *StorageClassSelector `json:"allowedStorageClassSelector,omitempty"`
	AllowedStorageClassNames    []string              `json:"allowedStorageClassNames,omitempty"`
}

// StorageClassSelector lists allowed storage classes by name.
type StorageClassSelector struct {
	MatchNames []string `json:"matchNames,omitempty"`
}

// LiveMigrationSettings are cluster-wide migration settings.
type LiveMigrationSettings struct {
	// Policy, when set, overrides every VM's liveMigrationPolicy.
	Policy string `json:"policy,omitempty"`
	// MaxParallel bounds concurrent migrations in the cluster (0: default).
	MaxParallel int `json:"maxParallel,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *Settings) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *Settings) GetObjectMeta() *ObjectMeta { return &r.Metadata }
