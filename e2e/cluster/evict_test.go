package cluster

import (
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/require"
)

// TestClassNodeSelectorChangeMovesVMs: when a class's nodeSelector stops
// matching the node a VM runs on, the VM is told (EvictionRequired and
// AwaitingRestartToApplyConfiguration) and moved by a restart on a node
// that matches — at once with restartApprovalMode Automatic, on its next
// Restart operation with Manual.
func TestClassNodeSelectorChangeMovesVMs(t *testing.T) {
	c, guest := vmCluster(t)
	n0 := c.Nodes[0]
	for i, nd := range c.Nodes {
		rack := map[int]string{0: "a", 1: "a", 2: "b"}[i]
		_, errOut, code := n0.CLI("", "label", "node", nd.Name, "rack="+rack)
		require.Equal(t, 0, code, errOut)
	}
	uploadImage(t, n0, "guest-iso", guest.ISO)
	applyYAML(t, n0, rackClass("b")+"---\n"+isoVM("auto", "Automatic")+"---\n"+isoVM("manual", "Manual"))
	for _, name := range []string{"auto", "manual"} {
		vm := waitVM(t, n0, name, 60*time.Second, func(vm *api.VirtualMachine) bool { return vm.Status.Phase == api.VMRunning })
		require.Equal(t, c.Nodes[2].Name, vm.Status.NodeName, "%s runs in rack b", name)
	}

	applyYAML(t, n0, rackClass("a"))
	moved := func(vm *api.VirtualMachine) bool {
		return vm.Status.Phase == api.VMRunning && vm.Status.NodeName != c.Nodes[2].Name && vm.Status.NodeName != ""
	}
	waitVM(t, n0, "auto", 60*time.Second, moved)
	vm := waitVM(t, n0, "manual", 30*time.Second, func(vm *api.VirtualMachine) bool {
		cond := api.FindCondition(vm.Status.Conditions, "AwaitingRestartToApplyConfiguration")
		return cond != nil && cond.Status == api.ConditionTrue
	})
	require.Equal(t, c.Nodes[2].Name, vm.Status.NodeName, "Manual approval: it keeps running where it is")
	require.Equal(t, api.VMRunning, vm.Status.Phase)

	applyYAML(t, n0, `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  name: restart-manual
spec:
  type: Restart
  virtualMachineName: manual
`)
	vm = waitVM(t, n0, "manual", 60*time.Second, moved)
	cond := api.FindCondition(vm.Status.Conditions, "EvictionRequired")
	require.NotNil(t, cond)
	require.Equal(t, api.ConditionFalse, cond.Status, "it fits its new node")
	waitOp(t, n0, "restart-manual", api.VMOPCompleted)
}

func rackClass(rack string) string {
	return `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: racked
spec:
  cpu:
    type: Host
  nodeSelector:
    matchLabels:
      rack: ` + rack + "\n"
}

func isoVM(name, approval string) string {
	return `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: ` + name + `
spec:
  virtualMachineClassName: racked
  runPolicy: AlwaysOnUnlessStoppedManually
  terminationGracePeriodSeconds: 5
  disruptions:
    restartApprovalMode: ` + approval + `
  cpu:
    cores: 1
    coreFraction: 10%
  memory:
    size: 256Mi
  blockDeviceRefs:
  - kind: ClusterVirtualImage
    name: guest-iso
`
}
