package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sizedClass = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: sized
spec:
  cpu:
    type: Host
  sizingPolicies:
    - cores: {min: 1, max: 4}
      memory: {min: 1Gi, max: MAXMEM, step: 512Mi}
      coreFractions: [20, 50, 100]
      defaultCoreFraction: 50
`

const sizedVM = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: linux-vm
spec:
  virtualMachineClassName: sized
  cpu: {cores: 2}
  memory: {size: 2Gi}
  blockDeviceRefs:
    - {kind: VirtualDisk, name: root}
`

func vmCondition(t *testing.T, a *Agent, typ string) (status, reason, msg string) {
	out, _, _ := a.CLI("", "get", "vm", "linux-vm", "-o", "json")
	var vm struct {
		Status struct {
			Conditions []struct{ Type, Status, Reason, Message string }
		}
	}
	_ = json.Unmarshal([]byte(out), &vm)
	for _, c := range vm.Status.Conditions {
		if c.Type == typ {
			return c.Status, c.Reason, c.Message
		}
	}
	return "", "", ""
}

// TestSizingPolicyOnVMs: a VM is defaulted and checked against its class
// at admission; when the class later changes so the VM no longer fits, the
// VM stays with SizingPolicyMatched=False and edits are refused until it
// conforms.
func TestSizingPolicyOnVMs(t *testing.T) {
	a := startSingle(t)
	_, errOut, code := a.CLI(strings.Replace(sizedClass, "MAXMEM", "8Gi", 1), "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)

	// Every violation at once.
	bad := strings.Replace(strings.Replace(sizedVM, "cores: 2}", "cores: 2, coreFraction: 5%}", 1), "size: 2Gi", "size: 1300Mi", 1)
	_, errOut, code = a.CLI(bad, "apply", "-f", "-")
	require.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "spec.cpu.coreFraction")
	assert.Contains(t, errOut, "spec.memory.size")

	_, errOut, code = a.CLI(sizedVM, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	out, _, _ := a.CLI("", "get", "vm", "linux-vm", "-o", "jsonpath={.spec.cpu.coreFraction}")
	assert.Equal(t, "50%", out, "coreFraction defaulted from the matching policy")
	require.Eventually(t, func() bool { s, _, _ := vmCondition(t, a, "SizingPolicyMatched"); return s == "True" },
		15*time.Second, 200*time.Millisecond)

	// The class shrinks: the VM no longer fits but is kept, marked.
	_, errOut, code = a.CLI(strings.Replace(sizedClass, "MAXMEM", "1Gi", 1), "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	var reason, msg string
	require.Eventually(t, func() bool {
		var s string
		s, reason, msg = vmCondition(t, a, "SizingPolicyMatched")
		return s == "False"
	}, 15*time.Second, 200*time.Millisecond)
	assert.Equal(t, "SizingPolicyNotMatched", reason)
	assert.Contains(t, msg, "spec.memory.size")
	_, errOut, code = a.CLI(strings.Replace(sizedVM, "cores: 2}", "cores: 2, coreFraction: 50%}", 1)+"  runPolicy: Manual\n", "apply", "-f", "-")
	assert.NotEqual(t, 0, code, "an edit that still breaks the class is refused")
	assert.Contains(t, errOut, "spec.memory.size")
}
