package api

import (
	"encoding/json"
	"time"
)

// VMPhase is the phase of a VM.
type VMPhase string

// VM phases.
const (
	VMPending     VMPhase = "Pending"
	VMStarting    VMPhase = "Starting"
	VMRunning     VMPhase = "Running"
	VMStopping    VMPhase = "Stopping"
	VMStopped     VMPhase = "Stopped"
	VMTerminating VMPhase = "Terminating"
	VMMigrating   VMPhase = "Migrating"
	VMPause       VMPhase = "Pause"
	VMDegraded    VMPhase = "Degraded"
)

// VirtualMachineStatus is the observed state of a VM.
type VirtualMachineStatus struct {
	Phase                       VMPhase                 `json:"phase,omitempty"`
	NodeName                    string                  `json:"nodeName,omitempty"`
	IPAddress                   string                  `json:"ipAddress,omitempty"`
	VirtualMachineIPAddressName string                  `json:"virtualMachineIPAddressName,omitempty"`
	BlockDeviceRefs             []BlockDeviceStatusRef  `json:"blockDeviceRefs,omitempty"`
	GuestOSInfo                 json.RawMessage         `json:"guestOSInfo,omitempty"`
	Stats                       *VMStats                `json:"stats,omitempty"`
	MigrationState              *VMMigrationState       `json:"migrationState,omitempty"`
	VirtualMachinePods          []VirtualMachinePod     `json:"virtualMachinePods,omitempty"`
	Versions                    *VMVersions             `json:"versions,omitempty"`
	Resources                   *VMResources            `json:"resources,omitempty"`
	Networks                    []NetworkStatus         `json:"networks,omitempty"`
	USBDevices                  []USBDeviceStatus       `json:"usbDevices,omitempty"`
	RestartAwaitingChanges      []RestartAwaitingChange `json:"restartAwaitingChanges,omitempty"`
	RecommendedResources        *VMRecommendedResources `json:"recommendedResources,omitempty"`
	// PowerState is davit's own: On or Off, what the VM should be when no
	// operation is in progress (see PowerOn).
	PowerState string `json:"powerState,omitempty"`
	// BootSpec is davit's own: the fully resolved boot spec (the qemu
	// package's Spec as JSON) the running instance was started from, so a
	// restart or a migration target starts with exactly the same command
	// line.
	BootSpec json.RawMessage `json:"bootSpec,omitempty"`
	// RestartedBy is davit's own: the UID of the Restart operation the
	// running instance was started for (a Restart is done once it names
	// the operation; times to the second cannot tell a start just before
	// the operation from one just after).
	RestartedBy string `json:"restartedBy,omitempty"`
	// Usage is davit's own: what the running instance's cgroup measured,
	// refreshed by its node every VMUsageInterval.
	Usage              *VMUsage    `json:"usage,omitempty"`
	ObservedGeneration int64       `json:"observedGeneration,omitempty"`
	Conditions         []Condition `json:"conditions,omitempty"`
}

// Power states of VirtualMachineStatus.PowerState. A new VM starts On,
// except with runPolicy Manual (Off). A Start operation turns it On; a Stop
// operation turns it Off, and so does a guest poweroff under Manual and
// AlwaysOnUnlessStoppedManually. AlwaysOn and AlwaysOff ignore it.
const (
	PowerOn  = "On"
	PowerOff = "Off"
)

// BlockDeviceStatusRef is an attached (or attaching) block device.
type BlockDeviceStatusRef struct {
	Kind                                    string `json:"kind"`
	Name                                    string `json:"name"`
	Size                                    string `json:"size,omitempty"`
	Attached                                bool   `json:"attached"`
	Target                                  string `json:"target,omitempty"`
	Hotplugged                              bool   `json:"hotplugged,omitempty"`
	VirtualMachineBlockDeviceAttachmentName string `json:"virtualMachineBlockDeviceAttachmentName,omitempty"`
	BootOrder                               int    `json:"bootOrder,omitempty"`
}

// VMStats are phase transitions and launch durations.
type VMStats struct {
	PhasesTransitions  []PhaseTransition     `json:"phasesTransitions,omitempty"`
	LaunchTimeDuration *VMLaunchTimeDuration `json:"launchTimeDuration,omitempty"`
	LastStartTime      *Time                 `json:"lastStartTime,omitempty"`
}

// PhaseTransition records when the VM entered a phase.
type PhaseTransition struct {
	Phase     VMPhase `json:"phase"`
	Timestamp Time    `json:"timestamp"`
}

// VMLaunchTimeDuration breaks the start time down ("12s").
type VMLaunchTimeDuration struct {
	WaitingForDependencies string `json:"waitingForDependencies,omitempty"`
	VirtualMachineStarting string `json:"virtualMachineStarting,omitempty"`
	GuestOSAgentStarting   string `json:"guestOSAgentStarting,omitempty"`
}

// VMMigrationState describes the last live migration.
type VMMigrationState struct {
	StartTimestamp *Time              `json:"startTimestamp,omitempty"`
	EndTimestamp   *Time              `json:"endTimestamp,omitempty"`
	Source         *VMMigrationTarget `json:"source,omitempty"`
	Target         *VMMigrationTarget `json:"target,omitempty"`
	Result         string             `json:"result,omitempty"`
}

// VMMigrationTarget is one end of a migration.
type VMMigrationTarget struct {
	Node string `json:"node,omitempty"`
	Pod  string `json:"pod,omitempty"`
}

// VirtualMachinePod is a QEMU instance of the VM (two during migration).
type VirtualMachinePod struct {
	Name   string `json:"name"`
	Active bool   `json:"active"`
}

// VMVersions are the versions of the VM's hypervisor.
type VMVersions struct {
	QEMU    string `json:"qemu,omitempty"`
	Libvirt string `json:"libvirt,omitempty"`
}

// VMResources are the resources the VM runs with.
type VMResources struct {
	CPU    VMCPUResources    `json:"cpu,omitzero"`
	Memory VMMemoryResources `json:"memory,omitzero"`
}

// VMCPUResources is the VM's effective CPU.
type VMCPUResources struct {
	Cores           int         `json:"cores,omitempty"`
	CoreFraction    string      `json:"coreFraction,omitempty"`
	RequestedCores  string      `json:"requestedCores,omitempty"`
	RuntimeOverhead string      `json:"runtimeOverhead,omitempty"`
	Topology        *VMTopology `json:"topology,omitempty"`
}

// VMTopology is the virtual CPU topology.
type VMTopology struct {
	Sockets        int `json:"sockets"`
	CoresPerSocket int `json:"coresPerSocket"`
}

// VMMemoryResources is the VM's effective memory.
type VMMemoryResources struct {
	Size            string `json:"size,omitempty"`
	RuntimeOverhead string `json:"runtimeOverhead,omitempty"`
}

// NetworkStatus is one NIC as configured.
type NetworkStatus struct {
	ID                           int    `json:"id,omitempty"`
	Type                         string `json:"type"`
	Name                         string `json:"name,omitempty"`
	MACAddress                   string `json:"macAddress,omitempty"`
	VirtualMachineMACAddressName string `json:"virtualMachineMACAddressName,omitempty"`
	IPAddress                    string `json:"ipAddress,omitempty"`
}

// USBDeviceStatus is one passed-through USB device.
type USBDeviceStatus struct {
	Name       string      `json:"name"`
	Attached   bool        `json:"attached"`
	Ready      bool        `json:"ready"`
	Address    *USBAddress `json:"address,omitempty"`
	Hotplugged bool        `json:"hotplugged,omitempty"`
}

// USBAddress is a USB bus and port.
type USBAddress struct {
	Bus  int `json:"bus"`
	Port int `json:"port"`
}

// RestartAwaitingChange is a spec change that waits for a restart.
type RestartAwaitingChange struct {
	Operation    string          `json:"operation"`
	Path         string          `json:"path"`
	CurrentValue json.RawMessage `json:"currentValue,omitempty"`
	DesiredValue json.RawMessage `json:"desiredValue,omitempty"`
}

// VMRecommendedResources is the autoscaler's recommendation.
type VMRecommendedResources struct {
	CPU *VMRecommendedCPU `json:"cpu,omitempty"`
}

// VMRecommendedCPU is a recommended core fraction.
type VMRecommendedCPU struct {
	CoreFraction string `json:"coreFraction,omitempty"`
}

// VMUsageInterval is how often a node refreshes status.usage of its VMs.
const VMUsageInterval = 30 * time.Second

// VMUsage is one reading of a running VM's cgroup (davit's own status
// field): cumulative CPU time and CFS throttling of the instance, memory in
// use and its limit, and, where the kernel keeps per-cgroup pressure (cgroup
// v2), the share of the last 10 s in which some of its threads waited for a
// CPU.
type VMUsage struct {
	Time                Time     `json:"time"`
	CPUSeconds          float64  `json:"cpuSeconds"`
	CPUThrottledSeconds float64  `json:"cpuThrottledSeconds"`
	CPUThrottledPeriods uint64   `json:"cpuThrottledPeriods"`
	CPUPeriods          uint64   `json:"cpuPeriods"`
	MemoryBytes         uint64   `json:"memoryBytes"`
	MemoryLimitBytes    uint64   `json:"memoryLimitBytes,omitempty"`
	CPUPressureSome10   *float64 `json:"cpuPressureSome10,omitempty"`
}
