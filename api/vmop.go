package api

import "fmt"

// VirtualMachineOperation is an imperative action on a VM: start, stop,
// restart, migrate, evict, restore or clone.
type VirtualMachineOperation struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta                    `json:"metadata"`
	Spec     VirtualMachineOperationSpec   `json:"spec"`
	Status   VirtualMachineOperationStatus `json:"status,omitzero"`
}

// Operation types.
const (
	VMOPTypeStart   = "Start"
	VMOPTypeStop    = "Stop"
	VMOPTypeRestart = "Restart"
	VMOPTypeMigrate = "Migrate"
	VMOPTypeEvict   = "Evict"
	VMOPTypeRestore = "Restore"
	VMOPTypeClone   = "Clone"
)

// VirtualMachineOperationSpec is the immutable request.
type VirtualMachineOperationSpec struct {
	Type               string       `json:"type,omitempty"`
	VirtualMachineName string       `json:"virtualMachineName,omitempty"`
	Force              *bool        `json:"force,omitempty"`
	Migrate            *VMOPMigrate `json:"migrate,omitempty"`
	Restore            *VMOPRestore `json:"restore,omitempty"`
	Clone              *VMOPClone   `json:"clone,omitempty"`
}

// VMOPMigrate picks the migration target nodes.
type VMOPMigrate struct {
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// VMOPRestore restores the VM from a snapshot.
type VMOPRestore struct {
	Mode                       string `json:"mode,omitempty"`
	VirtualMachineSnapshotName string `json:"virtualMachineSnapshotName,omitempty"`
}

// VMOPClone clones the VM under new names.
type VMOPClone struct {
	Mode            string              `json:"mode,omitempty"`
	NameReplacement []NameReplacement   `json:"nameReplacement,omitempty"`
	Customization   *CloneCustomization `json:"customization,omitempty"`
}

// NameReplacement renames one resource of the clone.
type NameReplacement struct {
	From NameReplacementFrom `json:"from"`
	To   string              `json:"to"`
}

// NameReplacementFrom selects the resource to rename.
type NameReplacementFrom struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name"`
}

// CloneCustomization prefixes or suffixes every cloned name.
type CloneCustomization struct {
	NamePrefix string `json:"namePrefix,omitempty"`
	NameSuffix string `json:"nameSuffix,omitempty"`
}

// VMOPPhase is the phase of an operation.
type VMOPPhase string

// Operation phases.
const (
	VMOPPending     VMOPPhase = "Pending"
	VMOPInProgress  VMOPPhase = "InProgress"
	VMOPCompleted   VMOPPhase = "Completed"
	VMOPFailed      VMOPPhase = "Failed"
	VMOPTerminating VMOPPhase = "Terminating"
	VMOPSuperseded  VMOPPhase = "Superseded"
)

// VirtualMachineOperationStatus is the observed state of an operation.
type VirtualMachineOperationStatus struct {
	Phase              VMOPPhase      `json:"phase,omitempty"`
	Progress           string         `json:"progress,omitempty"`
	Resources          []VMOPResource `json:"resources,omitempty"`
	ObservedGeneration int64          `json:"observedGeneration,omitempty"`
	Conditions         []Condition    `json:"conditions,omitempty"`
}

// VMOPResource is one resource a restore or clone touched.
type VMOPResource struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Name       string `json:"name,omitempty"`
	Status     string `json:"status,omitempty"`
	Message    string `json:"message,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *VirtualMachineOperation) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *VirtualMachineOperation) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// Snapshot operation modes (restore and clone).
const (
	ModeDryRun     = "DryRun"
	ModeStrict     = "Strict"
	ModeBestEffort = "BestEffort"
)

// MaxCloneNameLen bounds clone names, prefixes and suffixes.
const MaxCloneNameLen = 59

// Default implements Defaulter; an operation has no defaults.
func (r *VirtualMachineOperation) Default() {}

// Validate implements Validator (reference §7).
func (r *VirtualMachineOperation) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{namespaced: true})
	s := &r.Spec
	requireEnum(&errs, "spec.type", s.Type, VMOPTypeStart, VMOPTypeStop, VMOPTypeRestart,
		VMOPTypeMigrate, VMOPTypeEvict, VMOPTypeRestore, VMOPTypeClone)
	checkRefName(&errs, "spec.virtualMachineName", s.VirtualMachineName)
	if s.Type == VMOPTypeStart && s.Force != nil && *s.Force {
		errs.Add(ErrForbidden, "spec.force", "force cannot be set to true for a Start operation")
	}
	switch {
	case s.Migrate != nil && s.Type != VMOPTypeMigrate:
		errs.Add(ErrForbidden, "spec.migrate", "allowed only for type Migrate")
	case s.Migrate != nil:
		validateLabels(&errs, "spec.migrate.nodeSelector", s.Migrate.NodeSelector)
	}
	validateRestore(&errs, s)
	validateClone(&errs, s)
	return errs
}

// ValidateUpdate implements Validator: the spec is immutable.
func (r *VirtualMachineOperation) ValidateUpdate(old Resource) FieldErrors {
	o, ok := old.(*VirtualMachineOperation)
	if !ok {
		return wrongKind("VirtualMachineOperation", old)
	}
	var errs FieldErrors
	if !semanticEqual(r.Spec, o.Spec) {
		errs.Add(ErrImmutable, "spec", "the spec of an operation is immutable; create a new operation")
	}
	return errs
}

func validateRestore(errs *FieldErrors, s *VirtualMachineOperationSpec) {
	switch {
	case s.Type == VMOPTypeRestore && s.Restore == nil:
		errs.Add(ErrRequired, "spec.restore", "required for type Restore")
	case s.Type != VMOPTypeRestore && s.Restore != nil:
		errs.Add(ErrForbidden, "spec.restore", "allowed only for type Restore")
	}
	if s.Restore != nil {
		requireEnum(errs, "spec.restore.mode", s.Restore.Mode, ModeDryRun, ModeStrict, ModeBestEffort)
		checkRefName(errs, "spec.restore.virtualMachineSnapshotName", s.Restore.VirtualMachineSnapshotName)
	}
}

func validateClone(errs *FieldErrors, s *VirtualMachineOperationSpec) {
	switch {
	case s.Type == VMOPTypeClone && s.Clone == nil:
		errs.Add(ErrRequired, "spec.clone", "required for type Clone")
	case s.Type != VMOPTypeClone && s.Clone != nil:
		errs.Add(ErrForbidden, "spec.clone", "allowed only for type Clone")
	}
	c := s.Clone
	if c == nil {
		return
	}
	requireEnum(errs, "spec.clone.mode", c.Mode, ModeDryRun, ModeStrict, ModeBestEffort)
	for i, nr := range c.NameReplacement {
		p := fmt.Sprintf("spec.clone.nameReplacement[%d]", i)
		if nr.From.Name == "" {
			errs.Add(ErrRequired, p+".from.name", "the name to replace is required")
		}
		checkCloneName(errs, p+".to", nr.To, true)
	}
	cu := c.Customization
	if cu != nil {
		checkCloneName(errs, "spec.clone.customization.namePrefix", cu.NamePrefix, false)
		checkCloneName(errs, "spec.clone.customization.nameSuffix", cu.NameSuffix, false)
	}
	if len(c.NameReplacement) == 0 && (cu == nil || cu.NamePrefix == "" && cu.NameSuffix == "") {
		errs.Add(ErrRequired, "spec.clone", "at least one renaming rule is required: nameReplacement, or customization.namePrefix or nameSuffix")
	}
}

func checkCloneName(errs *FieldErrors, path, v string, required bool) {
	switch {
	case v == "" && required:
		errs.Add(ErrRequired, path, fmt.Sprintf("must be 1 to %d characters", MaxCloneNameLen))
	case len(v) > MaxCloneNameLen:
		errs.Add(ErrTooLong, path, fmt.Sprintf("must be 1 to %d characters", MaxCloneNameLen), v)
	}
}
