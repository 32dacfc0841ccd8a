package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const validVMOP = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  name: evict-linux-vm
  namespace: default
spec:
  virtualMachineName: linux-vm
  type: Evict
`

func TestVMOPValidation(t *testing.T) {
	clone := func(c *VMOPClone) func(*VirtualMachineOperation) {
		return func(o *VirtualMachineOperation) { o.Spec.Type, o.Spec.Clone = VMOPTypeClone, c }
	}
	cases := []ruleCase[*VirtualMachineOperation]{
		{name: "valid"},
		{name: "type required", mutate: func(o *VirtualMachineOperation) { o.Spec.Type = "" }, want: []string{"spec.type"}},
		{name: "type unknown", mutate: func(o *VirtualMachineOperation) { o.Spec.Type = "Pause" }, want: []string{"spec.type"}},
		{name: "vm required", mutate: func(o *VirtualMachineOperation) { o.Spec.VirtualMachineName = "" },
			want: []string{"spec.virtualMachineName"}},
		{name: "force with Start", mutate: func(o *VirtualMachineOperation) { o.Spec.Type, o.Spec.Force = VMOPTypeStart, ptr(true) },
			want: []string{"spec.force"}},
		{name: "force false with Start", mutate: func(o *VirtualMachineOperation) { o.Spec.Type, o.Spec.Force = VMOPTypeStart, ptr(false) }},
		{name: "force with Stop", mutate: func(o *VirtualMachineOperation) { o.Spec.Type, o.Spec.Force = VMOPTypeStop, ptr(true) }},
		{name: "migrate only for Migrate", mutate: func(o *VirtualMachineOperation) { o.Spec.Migrate = &VMOPMigrate{} },
			want: []string{"spec.migrate"}},
		{name: "migrate with labels", mutate: func(o *VirtualMachineOperation) {
			o.Spec.Type = VMOPTypeMigrate
			o.Spec.Migrate = &VMOPMigrate{NodeSelector: map[string]string{"kubernetes.io/hostname": "node-2"}}
		}},
		{name: "migrate bad labels", mutate: func(o *VirtualMachineOperation) {
			o.Spec.Type = VMOPTypeMigrate
			o.Spec.Migrate = &VMOPMigrate{NodeSelector: map[string]string{"k": "bad value"}}
		}, want: []string{"spec.migrate.nodeSelector[k]"}},
		{name: "restore required", mutate: func(o *VirtualMachineOperation) { o.Spec.Type = VMOPTypeRestore },
			want: []string{"spec.restore"}},
		{name: "restore ok", mutate: func(o *VirtualMachineOperation) {
			o.Spec.Type, o.Spec.Restore = VMOPTypeRestore, &VMOPRestore{Mode: ModeDryRun, VirtualMachineSnapshotName: "snap"}
		}},
		{name: "restore fields", mutate: func(o *VirtualMachineOperation) {
			o.Spec.Type, o.Spec.Restore = VMOPTypeRestore, &VMOPRestore{Mode: "Loose"}
		}, want: []string{"spec.restore.mode", "spec.restore.virtualMachineSnapshotName"}},
		{name: "restore forbidden", mutate: func(o *VirtualMachineOperation) { o.Spec.Restore = &VMOPRestore{} },
			want: []string{"spec.restore", "spec.restore.mode", "spec.restore.virtualMachineSnapshotName"}},
		{name: "clone required", mutate: func(o *VirtualMachineOperation) { o.Spec.Type = VMOPTypeClone },
			want: []string{"spec.clone"}},
		{name: "clone forbidden", mutate: func(o *VirtualMachineOperation) {
			o.Spec.Clone = &VMOPClone{Mode: ModeStrict, Customization: &CloneCustomization{NamePrefix: "c-"}}
		}, want: []string{"spec.clone"}},
		{name: "clone with prefix", mutate: clone(&VMOPClone{Mode: ModeStrict, Customization: &CloneCustomization{NamePrefix: "c-"}})},
		{name: "clone with replacement", mutate: clone(&VMOPClone{Mode: ModeBestEffort,
			NameReplacement: []NameReplacement{{From: NameReplacementFrom{Kind: "VirtualDisk", Name: "root"}, To: "root-2"}}})},
		{name: "clone needs a renaming rule", mutate: clone(&VMOPClone{Mode: ModeStrict, Customization: &CloneCustomization{}}),
			want: []string{"spec.clone"}},
		{name: "clone name lengths", mutate: clone(&VMOPClone{Mode: ModeStrict,
			NameReplacement: []NameReplacement{{From: NameReplacementFrom{Name: "a"}, To: strings.Repeat("x", 60)}, {To: ""}},
			Customization:   &CloneCustomization{NameSuffix: strings.Repeat("x", 60)}}),
			want: []string{"spec.clone.nameReplacement[0].to", "spec.clone.nameReplacement[1].from.name",
				"spec.clone.nameReplacement[1].to", "spec.clone.customization.nameSuffix"}},
		{name: "clone 59 chars ok", mutate: clone(&VMOPClone{Mode: ModeStrict,
			NameReplacement: []NameReplacement{{From: NameReplacementFrom{Name: "a"}, To: strings.Repeat("x", 59)}}})},
		{name: "clone mode", mutate: clone(&VMOPClone{Customization: &CloneCustomization{NameSuffix: "-2"}}),
			want: []string{"spec.clone.mode"}},
	}
	runRules(t, validVMOP, cases)
}

func TestVMOPSpecImmutable(t *testing.T) {
	old := decodeOne[*VirtualMachineOperation](t, validVMOP)
	n := decodeOne[*VirtualMachineOperation](t, validVMOP)
	n.Metadata.Labels = map[string]string{"a": "b"}
	assert.Empty(t, n.ValidateUpdate(old))
	n.Spec.Force = ptr(true)
	assert.Equal(t, []string{"spec"}, fields(n.ValidateUpdate(old)))
	assert.Equal(t, []string{"kind"}, fields(n.ValidateUpdate(&Secret{})))
}
