package e2eimages

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/e2e"

	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// startAgent starts a one-node agent whose config file has the given
// "images:" section (indented YAML lines, may be empty).
func startAgent(t *testing.T, imagesCfg string) *e2e.Agent {
	t.Helper()
	if testing.Short() {
		t.Skip("starts agent processes")
	}
	cfg := filepath.Join(t.TempDir(), "agent.yaml")
	body := "images:\n  stallTimeout: 3s\n"
	if imagesCfg != "" {
		body = "images:\n" + imagesCfg
	}
	require.NoError(t, os.WriteFile(cfg, []byte(body), 0o644))
	a := e2e.NewAgent(t, "node1", "--config", cfg)
	a.Start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", tail(a.Log.String(), 6000))
		}
	})
	// The leader writes the cluster's Settings right after its election.
	require.Eventually(t, func() bool {
		_, _, code := a.CLI("", "get", "settings", "cluster")
		return code == 0
	}, 20*time.Second, 100*time.Millisecond, "settings never appeared")
	return a
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// apply runs `davit apply -f -` and requires success.
func apply(t *testing.T, a *e2e.Agent, manifest string) string {
	t.Helper()
	out, errOut, code := a.CLI(manifest, "apply", "-f", "-")
	require.Equal(t, 0, code, "apply failed: %s%s", out, errOut)
	return out
}

// cviYAML is a ClusterVirtualImage manifest with the given dataSource
// (YAML lines, indented by four spaces).
func cviYAML(name, dataSource string) string {
	return fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: %s
spec:
  dataSource:
%s`, name, dataSource)
}

func httpSource(url string) string {
	return fmt.Sprintf("    type: HTTP\n    http:\n      url: %q\n", url)
}

// objectPath is the API path of an image: a CVI by name, a VI as
// "namespace/name".
func objectPath(kind, name string) string {
	if ns, n, ok := strings.Cut(name, "/"); ok {
		return "/v1/namespaces/" + ns + "/" + kind + "/" + n
	}
	return "/v1/" + kind + "/" + name
}

// image reads an image's status over the API (kind: its plural).
func image(t *testing.T, base, kind, name string) (imagectl.Status, bool) {
	t.Helper()
	resp, err := http.Get(base + objectPath(kind, name))
	if err != nil {
		return imagectl.Status{}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return imagectl.Status{}, false
	}
	var obj struct {
		Status imagectl.Status `json:"status"`
	}
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &obj))
	return obj.Status, true
}

// waitPhase waits until a CVI (or, with kind, another image kind) reaches
// phase, failing early when it reaches another final phase.
func waitPhase(t *testing.T, a *e2e.Agent, name string, phase api.ImagePhase, d time.Duration) imagectl.Status {
	t.Helper()
	return waitKindPhase(t, a.URL(), "clustervirtualimages", name, phase, d)
}

func waitKindPhase(t *testing.T, base, kind, name string, phase api.ImagePhase, d time.Duration) imagectl.Status {
	t.Helper()
	final := map[api.ImagePhase]bool{api.ImageReady: true, api.ImageFailed: true, api.ImageLost: true}
	deadline := time.Now().Add(d)
	var st imagectl.Status
	for time.Now().Before(deadline) {
		var ok bool
		st, ok = image(t, base, kind, name)
		if ok && st.Phase == phase {
			return st
		}
		if ok && final[st.Phase] && final[phase] {
			t.Fatalf("%s %s reached %s, want %s: %s", kind, name, st.Phase, phase, readyMessage(st))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s %s did not reach %s within %s (phase %q: %s)", kind, name, phase, d, st.Phase, readyMessage(st))
	return st
}

func readyMessage(st imagectl.Status) string {
	c := api.FindCondition(st.Conditions, "Ready")
	if c == nil {
		return "no Ready condition"
	}
	return c.Reason + ": " + c.Message
}

// readyCond returns the image's Ready condition.
func readyCond(t *testing.T, st imagectl.Status) api.Condition {
	t.Helper()
	c := api.FindCondition(st.Conditions, "Ready")
	require.NotNil(t, c, "no Ready condition")
	return *c
}

// noTempFiles fails when the agent's store holds anything but finished
// blobs.
func noTempFiles(t *testing.T, dataDir string) {
	t.Helper()
	root := filepath.Join(dataDir, "images")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && p != filepath.Join(root, "sha256") {
				t.Errorf("stray directory in the image store: %s", p)
			}
			return nil
		}
		if len(d.Name()) != 64 || filepath.Dir(p) != filepath.Join(root, "sha256") {
			t.Errorf("stray file in the image store: %s", p)
		}
		return nil
	})
	require.NoError(t, err)
}

// storedBlobs lists the digests in the agent's store.
func storedBlobs(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "images", "sha256"))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, "sha256:"+e.Name())
	}
	return out
}

// fields splits a table row into its cells.
func fields(line string) []string { return strings.Fields(line) }
