package agent

import (
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVMClassConditions(t *testing.T) {
	rs, err := api.Decode([]byte(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata: {name: vm, namespace: default}
spec:
  virtualMachineClassName: c
  cpu: {cores: 8, coreFraction: 100%}
  memory: {size: 1Gi}
  blockDeviceRefs: [{kind: VirtualDisk, name: d}]
`))
	require.NoError(t, err)
	vm := rs[0].(*api.VirtualMachine)

	conds := vmClassConditions(vm, nil)
	assert.Equal(t, "VirtualMachineClassNotFound", conds[1].Reason)

	c := api.PredefinedClasses()[2] // generic: 5–8 cores allow 20, 50, 100%
	c.Status.Phase = api.ClassReady
	conds = vmClassConditions(vm, c)
	assert.Equal(t, api.ConditionTrue, conds[0].Status)
	assert.Equal(t, api.ConditionTrue, conds[1].Status)

	vm.Spec.CPU.Cores = 3 // 1–4 cores: 100% is allowed too, still matches
	vm.Spec.CPU.CoreFraction = "30%"
	conds = vmClassConditions(vm, c)
	assert.Equal(t, "SizingPolicyNotMatched", conds[1].Reason)
	assert.Contains(t, conds[1].Message, "spec.cpu.coreFraction")

	c.Metadata.DeletionTimestamp = api.NewTime(time.Now())
	assert.Equal(t, "VirtualMachineClassTerminating", vmClassConditions(vm, c)[1].Reason)
}
