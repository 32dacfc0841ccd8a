package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func factsFile(t *testing.T, name string) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "cpuinfo", "testdata", name)
	_, err := os.Stat(p)
	require.NoError(t, err)
	return p
}

// The admin guide's class example on four nodes: two `group=blue` nodes
// with an older CPU ("CPU X") and two `group=green` nodes with a newer one
// ("CPU Y"), simulated with recorded CPU facts.
func TestGuideClassesOnFourNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts agent processes")
	}
	westmere, cascade := factsFile(t, "intel-westmere-kvm.json"), factsFile(t, "intel-cascadelake-kvm.json")
	c := New(t, 4, Options{NodeArgs: func(i int) []string {
		if i < 2 {
			return []string{"--cpu-facts", westmere}
		}
		return []string{"--cpu-facts", cascade}
	}})
	for i, nd := range c.Nodes {
		group := map[bool]string{true: "blue", false: "green"}[i < 2]
		_, errOut, code := c.Nodes[0].CLI("", "label", "node", nd.Name, "group="+group)
		require.Equal(t, 0, code, errOut)
	}
	// Wait until every node publishes its CPU labels and its group.
	require.Eventually(t, func() bool {
		out, _, _ := c.Nodes[0].CLI("", "get", "nodes", "-o", "json")
		return strings.Count(out, "cpu-vendor.node.virtualization.deckhouse.io/") == 4 && strings.Count(out, `"group"`) == 4
	}, 30*time.Second, 200*time.Millisecond)

	classes := `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: universal
spec:
  cpu:
    discovery: {}
    type: Discovery
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: cpuX
spec:
  cpu:
    discovery: {}
    type: Discovery
  nodeSelector:
    matchExpressions:
      - key: group
        operator: In
        values: ["blue"]
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: cpuY
spec:
  cpu:
    discovery:
      nodeSelector:
        matchExpressions:
          - key: group
            operator: In
            values: ["green"]
    type: Discovery
`
	_, errOut, code := c.Nodes[1].CLI(classes, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)

	type status struct {
		Phase          string   `json:"phase"`
		AvailableNodes []string `json:"availableNodes"`
		CPUFeatures    struct {
			Enabled []string `json:"enabled"`
		} `json:"cpuFeatures"`
	}
	get := func(name string) status {
		out, _, _ := c.Nodes[2].CLI("", "get", "vmclass", name, "-o", "jsonpath={.status}")
		var st status
		_ = json.Unmarshal([]byte(out), &st)
		return st
	}
	var universal, cpuX, cpuY status
	require.Eventually(t, func() bool {
		universal, cpuX, cpuY = get("universal"), get("cpuX"), get("cpuY")
		return universal.Phase == "Ready" && cpuX.Phase == "Ready" && cpuY.Phase == "Ready"
	}, 20*time.Second, 200*time.Millisecond, "classes not Ready")
	assert.Equal(t, []string{"node0", "node1", "node2", "node3"}, universal.AvailableNodes)
	assert.Equal(t, []string{"node0", "node1"}, cpuX.AvailableNodes, "cpuX places on blue nodes only")
	assert.Equal(t, []string{"node2", "node3"}, cpuY.AvailableNodes, "cpuY runs where its larger set exists")
	assert.Subset(t, cpuY.CPUFeatures.Enabled, universal.CPUFeatures.Enabled)
	assert.Greater(t, len(cpuY.CPUFeatures.Enabled), len(universal.CPUFeatures.Enabled),
		"cpuY enables the green nodes' larger set")
	t.Logf("universal enables %d features, cpuY %d", len(universal.CPUFeatures.Enabled), len(cpuY.CPUFeatures.Enabled))
}
