package api

// VirtualMachineClass defines the virtual CPU, node placement and sizing
// policies of the VMs that use it.
type VirtualMachineClass struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta                `json:"metadata"`
	Spec     VirtualMachineClassSpec   `json:"spec"`
	Status   VirtualMachineClassStatus `json:"status,omitzero"`
}

// CPUType is the kind of virtual CPU a class gives its VMs.
type CPUType string

// CPU types.
const (
	CPUTypeHost            CPUType = "Host"
	CPUTypeHostPassthrough CPUType = "HostPassthrough"
	CPUTypeDiscovery       CPUType = "Discovery"
	CPUTypeModel           CPUType = "Model"
	CPUTypeFeatures        CPUType = "Features"
)

// VirtualMachineClassSpec is the desired state of a class. CPU is
// immutable; the rest may change.
type VirtualMachineClassSpec struct {
	CPU            ClassCPU       `json:"cpu"`
	NodeSelector   *LabelSelector `json:"nodeSelector,omitempty"`
	Tolerations    []Toleration   `json:"tolerations,omitempty"`
	SizingPolicies []SizingPolicy `json:"sizingPolicies,omitempty"`
}

// ClassCPU is the class's virtual CPU.
type ClassCPU struct {
	Type      CPUType       `json:"type,omitempty"`
	Model     string        `json:"model,omitempty"`
	Features  []string      `json:"features,omitempty"`
	Discovery *CPUDiscovery `json:"discovery,omitempty"`
}

// CPUDiscovery selects the node pool whose common features a Discovery
// class enables (empty: all nodes).
type CPUDiscovery struct {
	NodeSelector *LabelSelector `json:"nodeSelector,omitempty"`
}

// SizingPolicy constrains the VMs whose core count falls in Cores.
type SizingPolicy struct {
	Cores               *SizingPolicyCores  `json:"cores,omitempty"`
	Memory              *SizingPolicyMemory `json:"memory,omitempty"`
	CoreFractions       []CoreFraction      `json:"coreFractions,omitempty"`
	DefaultCoreFraction *CoreFraction       `json:"defaultCoreFraction,omitempty"`
	DedicatedCores      []bool              `json:"dedicatedCores,omitempty"`
}

// SizingPolicyCores is an inclusive core range with an optional step.
type SizingPolicyCores struct {
	Min  int `json:"min"`
	Max  int `json:"max"`
	Step int `json:"step,omitempty"`
}

// SizingPolicyMemory bounds a VM's memory, in total and per core.
type SizingPolicyMemory struct {
	Min     *Quantity      `json:"min,omitempty"`
	Max     *Quantity      `json:"max,omitempty"`
	Step    *Quantity      `json:"step,omitempty"`
	PerCore *MemoryPerCore `json:"perCore,omitempty"`
}

// MemoryPerCore bounds memory divided by cores.
type MemoryPerCore struct {
	Min *Quantity `json:"min,omitempty"`
	Max *Quantity `json:"max,omitempty"`
}

// ClassPhase is the phase of a class.
type ClassPhase string

// Class phases.
const (
	ClassPending     ClassPhase = "Pending"
	ClassReady       ClassPhase = "Ready"
	ClassTerminating ClassPhase = "Terminating"
)

// VirtualMachineClassStatus is the observed state of a class.
type VirtualMachineClassStatus struct {
	Phase                   ClassPhase        `json:"phase,omitempty"`
	CPUFeatures             *ClassCPUFeatures `json:"cpuFeatures,omitempty"`
	AvailableNodes          []string          `json:"availableNodes,omitempty"`
	MaxAllocatableResources *ResourceAmounts  `json:"maxAllocatableResources,omitempty"`
	ObservedGeneration      int64             `json:"observedGeneration,omitempty"`
	Conditions              []Condition       `json:"conditions,omitempty"`
}

// ClassCPUFeatures are the features a Features or Discovery class
// enables, and those common to its nodes that it does not.
type ClassCPUFeatures struct {
	Enabled          []string `json:"enabled,omitempty"`
	NotEnabledCommon []string `json:"notEnabledCommon,omitempty"`
}

// ResourceAmounts is a CPU count and a memory size (node capacity,
// allocatable, a class's maximum allocatable resources).
type ResourceAmounts struct {
	CPU    IntOrString `json:"cpu,omitzero"`
	Memory Quantity    `json:"memory,omitzero"`
}

// GetTypeMeta implements Resource.
func (r *VirtualMachineClass) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *VirtualMachineClass) GetObjectMeta() *ObjectMeta { return &r.Metadata }
