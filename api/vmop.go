package api

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
