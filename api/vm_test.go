package api

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var fixedNow = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

const validVM = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: linux-vm
  namespace: default
  labels: {app: web}
spec:
  virtualMachineClassName: generic
  cpu:
    cores: 2
    coreFraction: 10%
  memory:
    size: 2Gi
  blockDeviceRefs:
  - kind: VirtualDisk
    name: linux-vm-root
  - kind: ClusterVirtualImage
    name: ubuntu-22.04
`

func TestVMDefaults(t *testing.T) {
	vm := decodeOne[*VirtualMachine](t, validVM)
	vm.Metadata.Namespace, vm.Spec.VirtualMachineClassName, vm.Spec.CPU.CoreFraction = "", "", ""
	vm.Default()
	s := vm.Spec
	assert.Equal(t, RunPolicyAlwaysOnUnlessStoppedManually, s.RunPolicy)
	assert.Equal(t, OSTypeGeneric, s.OSType)
	assert.Equal(t, BootloaderBIOS, s.Bootloader)
	assert.Equal(t, true, *s.EnableParavirtualization)
	assert.Equal(t, RestartApprovalManual, s.Disruptions.RestartApprovalMode)
	assert.Equal(t, int64(60), *s.TerminationGracePeriodSeconds)
	assert.Equal(t, MigrationPreferSafe, s.LiveMigrationPolicy)
	assert.Empty(t, vm.Metadata.Namespace, "the server sets the namespace")
	assert.Empty(t, s.VirtualMachineClassName, "the class needs the store")
	assert.Empty(t, s.CPU.CoreFraction, "the fraction needs the class")

	// Explicit values are kept.
	vm.Spec.EnableParavirtualization = ptr(false)
	vm.Spec.RunPolicy = RunPolicyManual
	vm.Default()
	assert.False(t, *vm.Spec.EnableParavirtualization)
	assert.Equal(t, RunPolicyManual, vm.Spec.RunPolicy)
}

func TestVMValidation(t *testing.T) {
	disk := func(n string) BlockDeviceRef { return BlockDeviceRef{Kind: KindVirtualDisk, Name: n} }
	cases := []ruleCase[*VirtualMachine]{
		{name: "valid", mutate: nil},
		{name: "name too long", mutate: func(v *VirtualMachine) { v.Metadata.Name = strings.Repeat("a", 64) },
			want: []string{"metadata.name"}},
		{name: "name 63 ok", mutate: func(v *VirtualMachine) { v.Metadata.Name = strings.Repeat("a", 63) }},
		{name: "name not DNS", mutate: func(v *VirtualMachine) { v.Metadata.Name = "Linux_VM" },
			want: []string{"metadata.name"}},
		{name: "name missing", mutate: func(v *VirtualMachine) { v.Metadata.Name = "" }, want: []string{"metadata.name"}},
		{name: "bad namespace", mutate: func(v *VirtualMachine) { v.Metadata.Namespace = "a.b" }, want: []string{"metadata.namespace"}},
		{name: "reserved label and annotation keys", mutate: func(v *VirtualMachine) {
			v.Metadata.Labels["vm.virtualization.deckhouse.io/x"] = "1"
			v.Metadata.Annotations = map[string]string{"virtualization.deckhouse.io/y": "2", "ok.example.com/z": "3"}
		}, want: []string{"metadata.labels", "metadata.annotations"}},
		{name: "bad label", mutate: func(v *VirtualMachine) { v.Metadata.Labels["a"] = "-x-" }, want: []string{"metadata.labels[a]"}},
		{name: "class required", mutate: func(v *VirtualMachine) { v.Spec.VirtualMachineClassName = "" },
			want: []string{"spec.virtualMachineClassName"}},
		{name: "cores required", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 0 }, want: []string{"spec.cpu.cores"}},
		{name: "cores negative", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = -1 }, want: []string{"spec.cpu.cores"}},
		{name: "cores 16", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 16 }},
		{name: "cores 17 odd", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 17 }, want: []string{"spec.cpu.cores"}},
		{name: "cores 18", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 18 }},
		{name: "cores 34 not /4", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 34 }, want: []string{"spec.cpu.cores"}},
		{name: "cores 36", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 36 }},
		{name: "cores 68 not /8", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 68 }, want: []string{"spec.cpu.cores"}},
		{name: "cores 248", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 248 }},
		{name: "cores 256", mutate: func(v *VirtualMachine) { v.Spec.CPU.Cores = 256 }, want: []string{"spec.cpu.cores"}},
		{name: "coreFraction format", mutate: func(v *VirtualMachine) { v.Spec.CPU.CoreFraction = "10" },
			want: []string{"spec.cpu.coreFraction"}},
		{name: "coreFraction 0%", mutate: func(v *VirtualMachine) { v.Spec.CPU.CoreFraction = "0%" },
			want: []string{"spec.cpu.coreFraction"}},
		{name: "coreFraction 101%", mutate: func(v *VirtualMachine) { v.Spec.CPU.CoreFraction = "101%" },
			want: []string{"spec.cpu.coreFraction"}},
		{name: "coreFraction Auto", mutate: func(v *VirtualMachine) { v.Spec.CPU.CoreFraction = "Auto" }},
		{name: "coreFraction empty (class defaults it)", mutate: func(v *VirtualMachine) { v.Spec.CPU.CoreFraction = "" }},
		{name: "dedicated needs 100%", mutate: func(v *VirtualMachine) { v.Spec.CPU.DedicatedCores = true },
			want: []string{"spec.cpu.coreFraction"}},
		{name: "dedicated at 100%", mutate: func(v *VirtualMachine) {
			v.Spec.CPU.DedicatedCores, v.Spec.CPU.CoreFraction = true, "100%"
		}},
		{name: "memory required", mutate: func(v *VirtualMachine) { v.Spec.Memory.Size = Quantity{} },
			want: []string{"spec.memory.size"}},
		{name: "memory zero", mutate: func(v *VirtualMachine) { v.Spec.Memory.Size = MustParseQuantity("0") },
			want: []string{"spec.memory.size"}},
		{name: "no block devices", mutate: func(v *VirtualMachine) { v.Spec.BlockDeviceRefs = nil },
			want: []string{"spec.blockDeviceRefs"}},
		{name: "17 block devices", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs = nil
			for i := range 17 {
				v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk(strings.Repeat("d", i+1)))
			}
		}, want: []string{"spec.blockDeviceRefs"}},
		{name: "16 block devices", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs = nil
			for i := range 16 {
				v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk(strings.Repeat("d", i+1)))
			}
		}},
		{name: "bad device kind and name", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs[0] = BlockDeviceRef{Kind: "Disk", Name: ""}
		}, want: []string{"spec.blockDeviceRefs[0].kind", "spec.blockDeviceRefs[0].name"}},
		{name: "duplicate device", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk("linux-vm-root"))
		}, want: []string{"spec.blockDeviceRefs[2]"}},
		{name: "same name other kind ok", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, BlockDeviceRef{Kind: KindVirtualImage, Name: "linux-vm-root"})
		}},
		{name: "boot order", mutate: func(v *VirtualMachine) {
			v.Spec.BlockDeviceRefs[0].BootOrder = ptr(0)
			v.Spec.BlockDeviceRefs[1].BootOrder = ptr(2)
			v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, BlockDeviceRef{Kind: KindVirtualDisk, Name: "x", BootOrder: ptr(2)})
		}, want: []string{"spec.blockDeviceRefs[0].bootOrder", "spec.blockDeviceRefs[2].bootOrder"}},
		{name: "enums", mutate: func(v *VirtualMachine) {
			v.Spec.RunPolicy, v.Spec.OSType, v.Spec.Bootloader = "Sometimes", "Plan9", "GRUB"
			v.Spec.LiveMigrationPolicy, v.Spec.Disruptions.RestartApprovalMode = "Never", "Maybe"
			v.Spec.TerminationGracePeriodSeconds = ptr(int64(-1))
		}, want: []string{"spec.runPolicy", "spec.osType", "spec.bootloader", "spec.liveMigrationPolicy",
			"spec.disruptions.restartApprovalMode", "spec.terminationGracePeriodSeconds"}},
		{name: "legacy BIOS only, no provisioning", mutate: func(v *VirtualMachine) {
			v.Spec.OSType, v.Spec.Bootloader = OSTypeLegacy, BootloaderEFI
			v.Spec.Provisioning = &Provisioning{Type: ProvisioningUserData, UserData: "#cloud-config"}
		}, want: []string{"spec.bootloader", "spec.provisioning"}},
		{name: "legacy without PV: at most 4 devices", mutate: func(v *VirtualMachine) {
			v.Spec.OSType, v.Spec.EnableParavirtualization = OSTypeLegacy, ptr(false)
			for _, n := range []string{"a", "b", "c"} {
				v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk(n))
			}
		}, want: []string{"spec.blockDeviceRefs"}},
		{name: "legacy with PV: 5 devices ok", mutate: func(v *VirtualMachine) {
			v.Spec.OSType = OSTypeLegacy
			for _, n := range []string{"a", "b", "c"} {
				v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk(n))
			}
		}},
		{name: "legacy without PV: 4 devices ok", mutate: func(v *VirtualMachine) {
			v.Spec.OSType, v.Spec.EnableParavirtualization = OSTypeLegacy, ptr(false)
			v.Spec.BlockDeviceRefs = append(v.Spec.BlockDeviceRefs, disk("a"), disk("b"))
		}},
		{name: "userData ok", mutate: func(v *VirtualMachine) {
			v.Spec.Provisioning = &Provisioning{Type: ProvisioningUserData, UserData: strings.Repeat("x", 2048)}
		}},
		{name: "userData too long", mutate: func(v *VirtualMachine) {
			v.Spec.Provisioning = &Provisioning{Type: ProvisioningUserData, UserData: strings.Repeat("x", 2049)}
		}, want: []string{"spec.provisioning.userData"}},
		{name: "provisioning blocks", mutate: func(v *VirtualMachine) {
			v.Spec.Provisioning = &Provisioning{Type: ProvisioningUserDataRef, UserData: "x",
				SysprepRef: &SecretRef{Kind: "ConfigMap", Name: "s"}}
		}, want: []string{"spec.provisioning.userData", "spec.provisioning.userDataRef",
			"spec.provisioning.sysprepRef", "spec.provisioning.sysprepRef.kind"}},
		{name: "provisioning type", mutate: func(v *VirtualMachine) { v.Spec.Provisioning = &Provisioning{} },
			want: []string{"spec.provisioning.type"}},
		{name: "userDataRef ok", mutate: func(v *VirtualMachine) {
			v.Spec.Provisioning = &Provisioning{Type: ProvisioningUserDataRef, UserDataRef: &SecretRef{Kind: "Secret", Name: "ci"}}
		}},
		{name: "placement", mutate: func(v *VirtualMachine) {
			v.Spec.NodeSelector = map[string]string{"bad key!": "x"}
			v.Spec.Tolerations = []Toleration{{Key: "k", Operator: "Like"}, {Operator: "Equal"}}
			v.Spec.TopologySpreadConstraints = []TopologySpreadConstraint{{}}
			v.Spec.Affinity = &VMAffinity{
				NodeAffinity: &NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &NodeSelector{
					NodeSelectorTerms: []NodeSelectorTerm{{MatchExpressions: []LabelSelectorRequirement{{Key: "a", Operator: "Is"}}}}}},
				VirtualMachineAndPodAntiAffinity: &VMAndPodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []WeightedVMAndPodAffinityTerm{{Weight: 0}}},
			}
		}, want: []string{"spec.nodeSelector", "spec.tolerations[0].operator", "spec.tolerations[1].operator",
			"spec.topologySpreadConstraints[0].maxSkew", "spec.topologySpreadConstraints[0].topologyKey",
			"spec.topologySpreadConstraints[0].whenUnsatisfiable",
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
			"spec.affinity.virtualMachineAndPodAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
			"spec.affinity.virtualMachineAndPodAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].virtualMachineAndPodAffinityTerm.topologyKey"}},
		{name: "devices", mutate: func(v *VirtualMachine) {
			v.Spec.Networks = []NetworkSpec{{Type: "Main"}, {Type: "Main"}, {Type: "Network"}, {Type: "Wifi"}}
			v.Spec.USBDevices = make([]USBDeviceRef, 9)
			for i := range v.Spec.USBDevices {
				v.Spec.USBDevices[i].Name = "u"
			}
			v.Spec.GPUs = []GPURef{{}}
		}, want: []string{"spec.networks[1].type", "spec.networks[2].name", "spec.networks[3].type",
			"spec.usbDevices", "spec.gpus[0].gpuClassName"}},
	}
	runRules(t, validVM, cases)
}

func TestVMValidateUpdate(t *testing.T) {
	vm := decodeOne[*VirtualMachine](t, validVM)
	assert.Empty(t, vm.ValidateUpdate(vm))
	assert.Equal(t, []string{"kind"}, fields(vm.ValidateUpdate(&Node{})))
	assert.Equal(t, []string{"kind"}, fields(vm.ValidateUpdate(nil)))
}

func TestCPUTopology(t *testing.T) {
	for cores, want := range map[int][2]int{1: {1, 1}, 16: {1, 16}, 18: {2, 9}, 32: {2, 16}, 36: {4, 9}, 64: {4, 16}, 72: {8, 9}, 248: {8, 31}} {
		s, c := CPUTopology(cores)
		assert.Equal(t, want, [2]int{s, c}, cores)
	}
}
