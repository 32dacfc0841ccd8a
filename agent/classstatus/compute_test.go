package classstatus

import (
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func node(name string, labels map[string]string, cpu int64, mem string, feats ...string) *api.Node {
	n := &api.Node{}
	n.Metadata.Name = name
	n.Metadata.Labels = map[string]string{}
	for k, v := range labels {
		n.Metadata.Labels[k] = v
	}
	for _, f := range feats {
		n.Metadata.Labels[FeatureLabel+f] = "true"
	}
	n.Status.Allocatable = api.ResourceAmounts{CPU: api.IntOrStringFromInt(cpu), Memory: api.MustParseQuantity(mem)}
	return n
}

func class(t *testing.T, yaml string) *api.VirtualMachineClass {
	t.Helper()
	rs, err := api.Decode([]byte(yaml))
	require.NoError(t, err)
	return rs[0].(*api.VirtualMachineClass)
}

// The admin guide's four-node example: blue nodes have CPU X (3 features),
// green nodes CPU Y (4 features).
func guideNodes() []*api.Node {
	blue := map[string]string{"group": "blue", ModelLabel + "Nehalem": "true"}
	green := map[string]string{"group": "green", ModelLabel + "Nehalem": "true", ModelLabel + "IvyBridge": "true"}
	return []*api.Node{
		node("b1", blue, 4, "8Gi", "sse4.2", "popcnt", "aes"),
		node("b2", blue, 8, "4Gi", "sse4.2", "popcnt", "aes"),
		node("g1", green, 16, "32Gi", "sse4.2", "popcnt", "aes", "avx"),
		node("g2", green, 2, "64Gi", "sse4.2", "popcnt", "aes", "avx"),
	}
}

var t0 = time.Unix(1_800_000_000, 0)

const hdr = "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata:\n  name: c\nspec:\n"

func TestGuideDiscoveryClasses(t *testing.T) {
	nodes := guideNodes()
	universal := Compute(class(t, hdr+"  cpu:\n    type: Discovery\n    discovery: {}\n"), nodes, t0)
	assert.Equal(t, api.ClassReady, universal.Phase)
	assert.Equal(t, []string{"aes", "popcnt", "sse4.2"}, universal.CPUFeatures.Enabled)
	assert.Equal(t, []string{"b1", "b2", "g1", "g2"}, universal.AvailableNodes)
	assert.Equal(t, "16", universal.MaxAllocatableResources.CPU.String())
	assert.Equal(t, "64Gi", universal.MaxAllocatableResources.Memory.String())

	cpuX := Compute(class(t, hdr+"  cpu:\n    type: Discovery\n    discovery: {}\n  nodeSelector:\n    matchExpressions:\n    - {key: group, operator: In, values: [blue]}\n"), nodes, t0)
	assert.Equal(t, []string{"b1", "b2"}, cpuX.AvailableNodes)

	cpuY := Compute(class(t, hdr+"  cpu:\n    type: Discovery\n    discovery:\n      nodeSelector:\n        matchExpressions:\n        - {key: group, operator: In, values: [green]}\n"), nodes, t0)
	assert.Equal(t, []string{"aes", "avx", "popcnt", "sse4.2"}, cpuY.CPUFeatures.Enabled)
	assert.Equal(t, []string{"g1", "g2"}, cpuY.AvailableNodes, "only nodes with every enabled feature")
}

func TestDiscoveryIsComputedOnce(t *testing.T) {
	c := class(t, hdr+"  cpu:\n    type: Discovery\n    discovery: {}\n")
	c.Status = Compute(c, guideNodes(), t0)
	// A new, older node joins: the enabled set must not shrink.
	nodes := append(guideNodes(), node("old", nil, 1, "1Gi", "sse4.2"))
	again := Compute(c, nodes, t0)
	assert.Equal(t, []string{"aes", "popcnt", "sse4.2"}, again.CPUFeatures.Enabled)
	assert.NotContains(t, again.AvailableNodes, "old")
}

func TestModelFeaturesAndHost(t *testing.T) {
	nodes := guideNodes()
	ivy := Compute(class(t, hdr+"  cpu:\n    type: Model\n    model: IvyBridge\n"), nodes, t0)
	assert.Equal(t, []string{"g1", "g2"}, ivy.AvailableNodes)
	assert.Equal(t, api.ClassReady, ivy.Phase)

	vmx := Compute(class(t, hdr+"  cpu:\n    type: Features\n    features: [vmx]\n"), nodes, t0)
	assert.Equal(t, api.ClassPending, vmx.Phase)
	ready := api.FindCondition(vmx.Conditions, "Ready")
	require.NotNil(t, ready)
	assert.Equal(t, "NoSuitableNodesFound", ready.Reason)

	avx := Compute(class(t, hdr+"  cpu:\n    type: Features\n    features: [avx]\n"), nodes, t0)
	assert.Equal(t, []string{"g1", "g2"}, avx.AvailableNodes)
	assert.Equal(t, []string{"aes", "popcnt", "sse4.2"}, avx.CPUFeatures.NotEnabledCommon)

	host := Compute(class(t, hdr+"  cpu:\n    type: Host\n"), nodes, t0)
	assert.Len(t, host.AvailableNodes, 4)
	disc := api.FindCondition(host.Conditions, "Discovered")
	require.NotNil(t, disc)
	assert.Equal(t, "DiscoverySkip", disc.Reason)
	assert.Equal(t, api.ClassPending, Compute(class(t, hdr+"  cpu:\n    type: Host\n"), nil, t0).Phase)
}
