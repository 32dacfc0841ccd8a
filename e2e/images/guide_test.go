package e2eimages

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"davit/api"
	"davit/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// guideManifests are the admin guide's ClusterVirtualImage manifests,
// unchanged, from the api package's test data.
func guideManifests(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "api", "testdata", "guide-images.yaml"))
	require.NoError(t, err)
	var docs []string
	for _, d := range strings.Split(string(b), "\n---\n") {
		if strings.Contains(d, "kind: ClusterVirtualImage") {
			docs = append(docs, d)
		}
	}
	require.Len(t, docs, 3)
	return docs
}

const guideURL = "https://cloud-images.ubuntu.com/minimal/releases/jammy/release/ubuntu-22.04-minimal-cloudimg-amd64.img"

// Guide rows 1–5: an image from an HTTP server, get, get -w, describe,
// and the spec frozen once Ready.
func TestGuideHTTPImage(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "")
	manifest := strings.Replace(guideManifests(t)[0], guideURL, src.URL("/slow/"+fileQCOW2), 1)
	require.Contains(t, apply(t, a, manifest), "clustervirtualimage/ubuntu-22.04 created")

	// Row 3: a line per change, Provisioning with a rising PROGRESS, then Ready.
	lines := watchUntil(t, a, 40*time.Second, "get", "cvi", "ubuntu-22.04", "-w")
	t.Logf("davit get cvi ubuntu-22.04 -w:\n%s", strings.Join(lines, "\n"))
	require.Equal(t, []string{"NAME", "PHASE", "CDROM", "PROGRESS", "AGE"}, fields(lines[0]))
	last := -1.0
	sawProvisioning := false
	for _, l := range lines[1 : len(lines)-1] {
		f := fields(l)
		if len(f) < 3 || f[1] != "Provisioning" {
			continue
		}
		sawProvisioning = true
		if len(f) == 5 {
			pct, err := strconv.ParseFloat(strings.TrimSuffix(f[3], "%"), 64)
			require.NoError(t, err, l)
			assert.GreaterOrEqual(t, pct, last, "progress fell: %q", lines)
			last = pct
		}
	}
	assert.True(t, sawProvisioning, "no Provisioning line in %q", lines)
	assert.Equal(t, []string{"ubuntu-22.04", "Ready", "false", "100%"}, fields(lines[len(lines)-1])[:4])

	// Row 2: both spellings of get.
	for _, kind := range []string{"clustervirtualimage", "cvi"} {
		out, _, code := a.CLI("", "get", kind, "ubuntu-22.04")
		require.Equal(t, 0, code)
		rows := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, rows, 2)
		assert.Equal(t, []string{"NAME", "PHASE", "CDROM", "PROGRESS", "AGE"}, fields(rows[0]))
		assert.Equal(t, []string{"ubuntu-22.04", "Ready", "false", "100%"}, fields(rows[1])[:4])
	}

	// Row 4: describe shows the format, sizes and conditions.
	out, _, code := a.CLI("", "describe", "cvi", "ubuntu-22.04")
	require.Equal(t, 0, code)
	for _, want := range []string{"Format:", "qcow2", "Stored Bytes:", "Unpacked Bytes:  16777216",
		"Registry URL:", "davit://blobs/sha256:", "DatasourceReady", "Ready   "} {
		assert.Contains(t, out, want)
	}

	// Row 5: after Ready the spec is frozen.
	changed := strings.Replace(manifest, "/slow/", "/files/", 1)
	_, errOut, code := a.CLI(changed, "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "immutable")
	noTempFiles(t, a.DataDir)
}

// Row 5, before Ready: an edit restarts the import with the new source.
func TestSpecEditBeforeReadyRestartsImport(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "  stallTimeout: 60s\n")
	apply(t, a, cviYAML("edited", httpSource(src.URL("/stall/"+fileISO))))
	waitPhase(t, a, "edited", api.ImageProvisioning, 20*time.Second)
	time.Sleep(time.Second) // the import is receiving, and stalls
	require.Contains(t, apply(t, a, cviYAML("edited", httpSource(src.URL("/files/"+fileQCOW2)))), "configured")
	st := waitPhase(t, a, "edited", api.ImageReady, 30*time.Second)
	assert.Equal(t, int64(2), st.ObservedGeneration)
	assert.Equal(t, "qcow2", st.Format)
	assert.False(t, st.CDROM)
	noTempFiles(t, a.DataDir)
}

// Guide rows 7–9: an Upload image, its URLs, curl -T, then Ready.
func TestGuideUpload(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	a := startAgent(t, "")
	require.Contains(t, apply(t, a, guideManifests(t)[2]), "clustervirtualimage/some-image created")
	waitPhase(t, a, "some-image", api.ImageWaitForUserUpload, 20*time.Second)

	out, _, code := a.CLI("", "get", "cvi", "some-image", "-o", "jsonpath={.status.imageUploadURLs}")
	require.Equal(t, 0, code)
	var urls struct{ External, InCluster string }
	require.NoError(t, json.Unmarshal([]byte(out), &urls), "jsonpath output is not JSON: %q", out)
	require.NotEmpty(t, urls.InCluster)
	require.True(t, strings.HasPrefix(urls.External, a.URL()+"/upload/"), urls.External)
	require.GreaterOrEqual(t, len(filepath.Base(urls.External)), 43, "secret too short")

	cmd := exec.Command("sh", "-c", `curl "$1" --progress-bar -f -T "$2" | cat`, "sh", urls.External, filepath.Join(dir, fileSmall))
	cmdOut, err := cmd.CombinedOutput()
	require.NoError(t, err, "curl: %s", cmdOut)
	out, _, _ = a.CLI("", "get", "cvi", "some-image")
	assert.Equal(t, []string{"some-image", "Ready", "false", "100%"}, fields(strings.Split(strings.TrimSpace(out), "\n")[1])[:4])

	// The secret was good for one upload; a made-up one is no good at all.
	assert.Equal(t, "403", curlCode(t, "-T", filepath.Join(dir, fileSmall), urls.External))
	assert.Equal(t, "403", curlCode(t, "-T", filepath.Join(dir, fileSmall), a.URL()+"/upload/"+strings.Repeat("A", 43)))
	noTempFiles(t, a.DataDir)
}

// curlCode runs curl with args and returns the HTTP status it got.
func curlCode(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-s", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...).Output()
	require.NoError(t, err)
	return string(out)
}

// watchUntil runs a davit command that streams (get -w) and returns its
// lines up to the first one with "Ready", or fails at the deadline.
func watchUntil(t *testing.T, a *e2e.Agent, d time.Duration, args ...string) []string {
	t.Helper()
	cmd := exec.Command(a.Bin, append([]string{"--addr", a.URL()}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string)
	defer func() {
		_ = cmd.Process.Kill()
		for range lines { // the reader ends at EOF; Wait only after it
		}
		_ = cmd.Wait()
	}()
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var got []string
	deadline := time.After(d)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the watch ended early: %q", got)
			}
			got = append(got, l)
			if f := fields(l); len(f) > 1 && f[1] == "Ready" {
				return got
			}
		case <-deadline:
			t.Fatalf("no Ready line within %s: %q", d, got)
		}
	}
}
