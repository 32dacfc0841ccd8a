package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

func startSingle(t *testing.T) *Agent {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an agent process")
	}
	a := NewAgent(t, "node1")
	a.Start()
	return a
}

// ageRE matches kubectl-style ages at the end of a table row.
var ageRE = regexp.MustCompile(`\b(\d+[smhdy])+\s*$`)

// normalizeAges replaces the AGE cell of every row with <age>.
func normalizeAges(table string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		out = append(out, ageRE.ReplaceAllString(line, "<age>"))
	}
	return strings.Join(out, "\n") + "\n"
}

func TestNewClusterHasPredefinedClasses(t *testing.T) {
	a := startSingle(t)
	var out string
	// The leader creates them right after it is elected, and marks them
	// Ready once this node has published its CPU facts.
	require.Eventually(t, func() bool {
		out, _, _ = a.CLI("", "get", "vmclass")
		return strings.Count(out, " Ready ") == 3
	}, 30*time.Second, 200*time.Millisecond, "classes did not become Ready")
	golden(t, "get-vmclass.golden", normalizeAges(out))

	out, _, code := a.CLI("", "get", "virtualmachineclass", "generic", "-o", "json")
	require.Equal(t, 0, code)
	var cls map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &cls))
	spec := cls["spec"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "Model", "model": "Nehalem"}, spec["cpu"])
	assert.Len(t, spec["sizingPolicies"], 4)

	out, _, code = a.CLI("", "get", "storageclass")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "local (default)")
}

func TestGuideClassesApplyAndRoundTrip(t *testing.T) {
	a := startSingle(t)
	manifests, err := os.ReadFile("testdata/guide-classes.yaml")
	require.NoError(t, err)
	out, errOut, code := a.CLI(string(manifests), "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	for _, n := range []string{"universal", "cpuX", "cpuY", "discovery", "features", "ivybridge"} {
		assert.Contains(t, out, "virtualmachineclass/"+n+" created")
	}
	// Applying again changes nothing.
	out, _, code = a.CLI(string(manifests), "apply", "-f", "-")
	require.Equal(t, 0, code)
	assert.Equal(t, 6, strings.Count(out, " unchanged"), out)

	// get -o yaml returns the spec as written.
	docs := strings.Split(string(manifests), "\n---\n")
	for _, doc := range docs[1:] {
		var in map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &in))
		name := in["metadata"].(map[string]any)["name"].(string)
		got, errOut, code := a.CLI("", "get", "vmclass", name, "-o", "yaml")
		require.Equal(t, 0, code, errOut)
		var back map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(got), &back))
		assert.Equal(t, normalizeSpec(t, in["spec"]), normalizeSpec(t, back["spec"]), name)
		meta := back["metadata"].(map[string]any)
		assert.NotEmpty(t, meta["uid"])
		assert.NotEmpty(t, meta["resourceVersion"])
		assert.EqualValues(t, 1, meta["generation"])
	}
}

// normalizeSpec makes v comparable: quantities and fractions are compared
// as the strings or numbers the server keeps.
func normalizeSpec(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestClassSpecCPUIsImmutable(t *testing.T) {
	a := startSingle(t)
	cls := "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata:\n  name: c1\nspec:\n  cpu:\n    type: Model\n    model: Nehalem\n"
	_, errOut, code := a.CLI(cls, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = a.CLI(strings.Replace(cls, "Nehalem", "Westmere", 1), "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "spec.cpu")
	// nodeSelector may change.
	withSel := cls + "  nodeSelector:\n    matchLabels:\n      group: blue\n"
	out, errOut, code := a.CLI(withSel, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "virtualmachineclass/c1 configured")
	out, _, _ = a.CLI("", "get", "vmc", "c1", "-o", "jsonpath={.metadata.generation}")
	assert.Equal(t, "2", strings.TrimSpace(out))
}

func TestNoResourcesFound(t *testing.T) {
	a := startSingle(t)
	out, errOut, code := a.CLI("", "get", "vm")
	assert.Equal(t, 0, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "No resources found")
	_, errOut, code = a.CLI("", "get", "vm", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "NotFound")
}

// TestSIGTERMShutsDownCleanly: SIGTERM ends the agent with exit code 0,
// and it starts again on the same data dir with its objects.
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	a := startSingle(t)
	cls := "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata:\n  name: kept\nspec:\n  cpu:\n    type: Host\n"
	_, errOut, code := a.CLI(cls, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	a.Stop()
	exited, exitCode := a.Exited()
	require.True(t, exited)
	assert.Equal(t, 0, exitCode, a.Log.String())
	a.Start()
	out, _, code := a.CLI("", "get", "vmclass", "kept", "-o", "name")
	assert.Equal(t, 0, code)
	assert.Equal(t, "virtualmachineclass/kept\n", out)
	out, _, code = a.CLI("", "status")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "Leader")
}

func TestMetricsAndHealth(t *testing.T) {
	a := startSingle(t)
	_, _, code := a.CLI("apiVersion: davit/v1\nkind: Secret\nmetadata:\n  name: m\ntype: Opaque\n", "apply", "-f", "-")
	require.Equal(t, 0, code)
	_, _, _ = a.CLI("", "get", "secret", "nope")
	body := httpGet(t, a.URL()+"/metrics")
	for _, want := range []string{
		`davit_api_requests_total{code="201",kind="Secret",verb="put"}`,
		`davit_api_requests_total{code="404",kind="Secret",verb="get"}`,
		"davit_api_request_duration_seconds_bucket",
		"davit_raft_apply_duration_seconds_count",
		`davit_objects{kind="Secret"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	assert.Equal(t, "ok\n", httpGet(t, a.URL()+"/healthz"))
	assert.Equal(t, "ok\n", httpGet(t, a.URL()+"/readyz"))
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}
