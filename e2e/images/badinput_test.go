package e2eimages

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"davit/api"
	"davit/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const settingsCap = `apiVersion: davit/v1
kind: Settings
metadata:
  name: cluster
spec:
  imageReplicas: 2
  maxUnpackedImageBytes: 64Mi
`

// Every bad source ends in Failed with a message that says what is wrong,
// without crashing the agent or leaving files behind.
func TestBadInputFails(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "  stallTimeout: 2s\n")
	apply(t, a, settingsCap)
	closed := e2e.FreeAddr(t) // nothing listens there
	wrongSum := "      checksum:\n        sha256: " + strings.Repeat("ab", 32) + "\n"
	cases := []struct {
		name, dataSource, reason string
		want                     []string // in the message
	}{
		{"unreachable", httpSource("http://" + closed + "/disk.img"), "ProvisioningFailed", []string{"connect to", "refused"}},
		{"not-found", httpSource(src.URL("/files/missing.img")), "ProvisioningFailed", []string{"404 Not Found", "check the URL"}},
		{"tls", httpSource(src.TLSURL("/files/" + fileQCOW2)), "ProvisioningFailed", []string{"certificate", "caBundle"}},
		{"stall", httpSource(src.URL("/stall/" + fileRaw)), "ProvisioningFailed", []string{"stalled", "no data for 2s"}},
		{"ended-early", httpSource(src.URL("/early/" + fileRaw)), "ProvisioningFailed", []string{"ended early", "of 16777216 bytes"}},
		{"html", httpSource(src.URL("/files/" + fileHTML)), "ProvisioningFailed", []string{"HTML page"}},
		{"truncated", httpSource(src.URL("/files/" + fileTrunc)), "ProvisioningFailed", []string{"corrupt"}},
		{"checksum", httpSource(src.URL("/files/"+fileQCOW2)) + wrongSum, "ProvisioningFailedTerminally",
			[]string{"checksum mismatch", "sha256 expected abab"}},
		{"zip-bomb", httpSource(src.URL("/files/" + fileBomb)), "ProvisioningFailed",
			[]string{"larger than the limit of 64.0 MiB", "maxUnpackedImageBytes"}},
	}
	var docs []string
	for _, c := range cases {
		docs = append(docs, cviYAML(c.name, c.dataSource))
	}
	apply(t, a, strings.Join(docs, "---\n"))
	for _, c := range cases {
		st := waitPhase(t, a, c.name, api.ImageFailed, 60*time.Second)
		cond := readyCond(t, st)
		assert.Equal(t, c.reason, cond.Reason, c.name)
		for _, w := range c.want {
			assert.Contains(t, cond.Message, w, c.name)
		}
		assert.Empty(t, st.Progress, c.name)
		t.Logf("%-12s %s: %s", c.name, cond.Reason, cond.Message)
	}
	out, _, _ := a.CLI("", "get", "cvi", "checksum")
	assert.Equal(t, []string{"checksum", "Failed", "false"}, fields(strings.Split(out, "\n")[1])[:3])

	// A VirtualImage's name may not hold a dot: 422 before anything starts.
	_, errOut, code := a.CLI(fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: ubuntu-22.04
  namespace: default
spec:
  dataSource:
    type: HTTP
    http:
      url: %q
`, src.URL("/files/"+fileQCOW2)), "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "Invalid")
	assert.Contains(t, errOut, "metadata.name")

	exited, _ := a.Exited()
	require.False(t, exited, "the agent died")
	noTempFiles(t, a.DataDir)
	assert.Empty(t, storedBlobs(t, a.DataDir), "failed imports left blobs")
}
