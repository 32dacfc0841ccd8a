package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opVM is a VM that cannot start (its class and disk do not exist), so it
// waits Pending; the run policy is filled in per test.
const opVM = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: NAME
spec:
  runPolicy: POLICY
  virtualMachineClassName: no-such-class
  cpu: {cores: 1}
  memory: {size: 1Gi}
  blockDeviceRefs:
    - {kind: VirtualDisk, name: no-such-disk}
`

func vmopYAML(name, typ, vm string) string {
	return "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineOperation\nmetadata:\n  name: " + name +
		"\nspec:\n  type: " + typ + "\n  virtualMachineName: " + vm + "\n"
}

// TestVMOPStartOnAlwaysOnFails: the leader's VMOP controller fails a Start
// of an AlwaysOn VM with NotApplicableForVirtualMachineRunPolicy, and
// `davit get vmop` shows it.
func TestVMOPStartOnAlwaysOnFails(t *testing.T) {
	a := startSingle(t)
	vm := strings.NewReplacer("NAME", "always", "POLICY", "AlwaysOn").Replace(opVM)
	_, errOut, code := a.CLI(vm, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	out, errOut, code := a.CLI(vmopYAML("start-always", "Start", "always"), "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "virtualmachineoperation/start-always created")

	require.Eventually(t, func() bool {
		out, _, _ = a.CLI("", "get", "vmop")
		return strings.Contains(out, "Failed")
	}, 20*time.Second, 200*time.Millisecond, "the Start did not fail: %s", out)
	assert.Contains(t, out, "start-always")
	reason, _, _ := a.CLI("", "get", "vmop", "start-always", "-o",
		`jsonpath={.status.conditions[?(@.type=="Completed")].reason}`)
	assert.Equal(t, "NotApplicableForVirtualMachineRunPolicy", strings.TrimSpace(reason))
}

// TestVMOPSecondOperationRejected: while a Stop is unfinished, a Start on
// the same VM (which may not supersede a Stop) is refused at creation with
// a message naming the Stop; a forced Stop is accepted. Both are applied
// in one call, so the Stop is still unfinished when the Start arrives.
func TestVMOPSecondOperationRejected(t *testing.T) {
	a := startSingle(t)
	vm := strings.NewReplacer("NAME", "manual", "POLICY", "AlwaysOnUnlessStoppedManually").Replace(opVM)
	_, errOut, code := a.CLI(vm, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)

	docs := vmopYAML("stop-1", "Stop", "manual") + "---\n" + vmopYAML("start-1", "Start", "manual")
	out, errOut, code := a.CLI(docs, "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, out, "virtualmachineoperation/stop-1 created")
	assert.Contains(t, errOut, "start-1")
	assert.Contains(t, errOut, "spec.virtualMachineName")
	assert.Contains(t, errOut, "stop-1 (Stop,", "the message names the blocking operation")
	t.Logf("rejection: %s", errOut)

	out, _, _ = a.CLI("", "get", "vmop", "start-1")
	assert.NotContains(t, out, "start-1", "the rejected operation was not stored")

	forced := strings.Replace(vmopYAML("kill-1", "Stop", "manual"), "  type: Stop\n", "  type: Stop\n  force: true\n", 1)
	out, errOut, code = a.CLI(forced, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "virtualmachineoperation/kill-1 created")
}
