package api

// VirtualMachine is a QEMU VM run on one node of the cluster.
type VirtualMachine struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta           `json:"metadata"`
	Spec     VirtualMachineSpec   `json:"spec"`
	Status   VirtualMachineStatus `json:"status,omitzero"`
}

// Enumerations of the VM spec.
const (
	RunPolicyAlwaysOn                      = "AlwaysOn"
	RunPolicyAlwaysOff                     = "AlwaysOff"
	RunPolicyManual                        = "Manual"
	RunPolicyAlwaysOnUnlessStoppedManually = "AlwaysOnUnlessStoppedManually"

	OSTypeWindows = "Windows"
	OSTypeGeneric = "Generic"
	OSTypeLegacy  = "Legacy"

	BootloaderBIOS              = "BIOS"
	BootloaderEFI               = "EFI"
	BootloaderEFIWithSecureBoot = "EFIWithSecureBoot"

	RestartApprovalManual    = "Manual"
	RestartApprovalAutomatic = "Automatic"

	MigrationAlwaysSafe   = "AlwaysSafe"
	MigrationPreferSafe   = "PreferSafe"
	MigrationAlwaysForced = "AlwaysForced"
	MigrationPreferForced = "PreferForced"

	ProvisioningUserData    = "UserData"
	ProvisioningUserDataRef = "UserDataRef"
	ProvisioningSysprepRef  = "SysprepRef"
)

// VirtualMachineSpec is the desired state of a VM.
type VirtualMachineSpec struct {
	VirtualMachineClassName       string                     `json:"virtualMachineClassName,omitempty"`
	CPU                           VMCPU                      `json:"cpu"`
	Memory                        VMMemory                   `json:"memory"`
	BlockDeviceRefs               []BlockDeviceRef           `json:"blockDeviceRefs"`
	RunPolicy                     string                     `json:"runPolicy,omitempty"`
	OSType                        string                     `json:"osType,omitempty"`
	Bootloader                    string                     `json:"bootloader,omitempty"`
	EnableParavirtualization      *bool                      `json:"enableParavirtualization,omitempty"`
	Disruptions                   *Disruptions               `json:"disruptions,omitempty"`
	TerminationGracePeriodSeconds *int64                     `json:"terminationGracePeriodSeconds,omitempty"`
	LiveMigrationPolicy           string                     `json:"liveMigrationPolicy,omitempty"`
	Provisioning                  *Provisioning              `json:"provisioning,omitempty"`
	NodeSelector                  map[string]string          `json:"nodeSelector,omitempty"`
	Tolerations                   []Toleration               `json:"tolerations,omitempty"`
	TopologySpreadConstraints     []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	PriorityClassName             string                     `json:"priorityClassName,omitempty"`
	Affinity                      *VMAffinity                `json:"affinity,omitempty"`
	VirtualMachineIPAddressName   string                     `json:"virtualMachineIPAddressName,omitempty"`
	Networks                      []NetworkSpec              `json:"networks,omitempty"`
	USBDevices                    []USBDeviceRef             `json:"usbDevices,omitempty"`
	GPUs                          []GPURef                   `json:"gpus,omitempty"`
}

// VMCPU is the VM's virtual CPU. DedicatedCores is davit's own field: the
// VM gets whole host CPUs (its class's sizing policy must allow it).
type VMCPU struct {
	Cores          int    `json:"cores,omitempty"`
	CoreFraction   string `json:"coreFraction,omitempty"`
	DedicatedCores bool   `json:"dedicatedCores,omitempty"`
}

// VMMemory is the VM's memory size.
type VMMemory struct {
	Size Quantity `json:"size,omitzero"`
}

// BlockDeviceRef attaches an image or disk to the VM.
type BlockDeviceRef struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	BootOrder *int   `json:"bootOrder,omitempty"`
}

// Disruptions says how changes that need a restart are applied.
type Disruptions struct {
	RestartApprovalMode string `json:"restartApprovalMode,omitempty"`
}

// Provisioning is the guest's first-boot configuration.
type Provisioning struct {
	Type        string     `json:"type,omitempty"`
	UserData    string     `json:"userData,omitempty"`
	UserDataRef *SecretRef `json:"userDataRef,omitempty"`
	SysprepRef  *SecretRef `json:"sysprepRef,omitempty"`
}

// SecretRef names a Secret in the VM's namespace.
type SecretRef struct {
	Kind string `json:"kind,omitempty"`
	Name string `json:"name,omitempty"`
}

// NetworkSpec is one NIC of the VM.
type NetworkSpec struct {
	Type                         string `json:"type"`
	Name                         string `json:"name,omitempty"`
	ID                           *int   `json:"id,omitempty"`
	VirtualMachineMACAddressName string `json:"virtualMachineMACAddressName,omitempty"`
	IPAddressName                string `json:"ipAddressName,omitempty"`
}

// USBDeviceRef passes a USB device through.
type USBDeviceRef struct {
	Name string `json:"name"`
}

// GPURef asks for a GPU of a class.
type GPURef struct {
	GPUClassName string `json:"gpuClassName"`
}

// GetTypeMeta implements Resource.
func (r *VirtualMachine) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *VirtualMachine) GetObjectMeta() *ObjectMeta { return &r.Metadata }
