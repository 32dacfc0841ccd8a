package api

import (
	"fmt"
	"net/netip"
)

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

// Feature gates the settings accept.
var featureGates = []string{
	"HotplugCPUWithLiveMigration", "HotplugMemoryWithLiveMigration",
	"HotplugCPUAndMemoryWithInPlaceResize", "GPU", "VerticalVirtualMachineAutoscaler",
}

// DefaultImageReplicas is how many nodes keep a copy of each image.
const DefaultImageReplicas = 2

// Default implements Defaulter: imageReplicas 2.
func (r *Settings) Default() {
	if r.Spec.ImageReplicas == nil {
		n := DefaultImageReplicas
		r.Spec.ImageReplicas = &n
	}
}

// Validate implements Validator. Only the name "cluster" is valid.
func (r *Settings) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{fixed: SettingsName})
	s := &r.Spec
	validateStorageClassSettings(&errs, "spec.virtualImages", s.VirtualImages)
	validateStorageClassSettings(&errs, "spec.virtualDisks", s.VirtualDisks)
	if s.ImageReplicas != nil && *s.ImageReplicas < 1 {
		errs.Add(ErrInvalid, "spec.imageReplicas", "must be at least 1", *s.ImageReplicas)
	}
	if q := s.MaxUnpackedImageBytes; q != nil && q.Bytes() <= 0 {
		errs.Add(ErrInvalid, "spec.maxUnpackedImageBytes", "must be greater than 0", q.String())
	}
	validateCIDRs(&errs, "spec.virtualMachineCIDRs", s.VirtualMachineCIDRs)
	for i, g := range s.FeatureGates {
		requireEnum(&errs, fmt.Sprintf("spec.featureGates[%d]", i), g, featureGates...)
	}
	if lm := s.LiveMigration; lm != nil {
		checkEnum(&errs, "spec.liveMigration.policy", lm.Policy, MigrationAlwaysSafe,
			MigrationPreferSafe, MigrationAlwaysForced, MigrationPreferForced)
		if lm.MaxParallel < 0 {
			errs.Add(ErrInvalid, "spec.liveMigration.maxParallel", "must not be negative", lm.MaxParallel)
		}
	}
	return errs
}

// ValidateUpdate implements Validator; settings may change freely.
func (r *Settings) ValidateUpdate(old Resource) FieldErrors {
	if _, ok := old.(*Settings); !ok {
		return wrongKind("Settings", old)
	}
	return nil
}

// DefaultClass returns the default storage class name, honouring the
// deprecated storageClassName alias.
func (s *StorageClassSettings) DefaultClass() string {
	if s == nil {
		return ""
	}
	if s.DefaultStorageClassName != "" {
		return s.DefaultStorageClassName
	}
	return s.StorageClassName
}

// AllowedNames returns the allowed storage classes: the selector's
// matchNames plus the admin guide's allowedStorageClassNames.
func (s *StorageClassSettings) AllowedNames() []string {
	if s == nil {
		return nil
	}
	var out []string
	if s.AllowedStorageClassSelector != nil {
		out = append(out, s.AllowedStorageClassSelector.MatchNames...)
	}
	for _, n := range s.AllowedStorageClassNames {
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func validateStorageClassSettings(errs *FieldErrors, path string, s *StorageClassSettings) {
	if s == nil {
		return
	}
	if s.DefaultStorageClassName != "" {
		checkRefName(errs, path+".defaultStorageClassName", s.DefaultStorageClassName)
	}
	if s.StorageClassName != "" {
		checkRefName(errs, path+".storageClassName", s.StorageClassName)
		if s.DefaultStorageClassName != "" && s.DefaultStorageClassName != s.StorageClassName {
			errs.Add(ErrInvalid, path+".storageClassName",
				"deprecated alias of defaultStorageClassName; the two differ", s.StorageClassName)
		}
	}
	if sel := s.AllowedStorageClassSelector; sel != nil {
		if len(sel.MatchNames) == 0 {
			errs.Add(ErrRequired, path+".allowedStorageClassSelector.matchNames", "at least one name is required")
		}
		for i, n := range sel.MatchNames {
			checkRefName(errs, fmt.Sprintf("%s.allowedStorageClassSelector.matchNames[%d]", path, i), n)
		}
	}
	for i, n := range s.AllowedStorageClassNames {
		checkRefName(errs, fmt.Sprintf("%s.allowedStorageClassNames[%d]", path, i), n)
	}
}

func validateCIDRs(errs *FieldErrors, path string, cidrs []string) {
	var prefixes []netip.Prefix
	for i, c := range cidrs {
		p := fmt.Sprintf("%s[%d]", path, i)
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			errs.Add(ErrInvalid, p, "must be a CIDR such as 10.66.0.0/16", c)
			continue
		}
		for _, q := range prefixes {
			if q.Overlaps(pfx) {
				errs.Add(ErrInvalid, p, "overlaps "+q.String(), c)
				break
			}
		}
		prefixes = append(prefixes, pfx)
	}
}
