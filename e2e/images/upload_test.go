package e2eimages

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/e2e"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func uploadYAML(name string) string { return cviYAML(name, "    type: Upload\n") }

// waitUploadURL waits for WaitForUserUpload and returns the external URL.
func waitUploadURL(t *testing.T, a *e2e.Agent, kind, name string) string {
	t.Helper()
	st := waitKindPhase(t, a.URL(), kind, name, api.ImageWaitForUserUpload, 20*time.Second)
	require.NotNil(t, st.ImageUploadURLs)
	return st.ImageUploadURLs.External
}

func TestUploadVariants(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	a := startAgent(t, "")
	apply(t, a, strings.Join([]string{uploadYAML("post"), uploadYAML("cli"),
		uploadYAML("corrupt"), `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualImage
metadata:
  name: vi-upload
  namespace: default
spec:
  dataSource:
    type: Upload
    upload:
      checksum:
        sha256: ` + sha256File(t, filepath.Join(dir, fileRaw)) + "\n"}, "---\n"))

	t.Run("POST --data-binary", func(t *testing.T) {
		url := waitUploadURL(t, a, "clustervirtualimages", "post")
		out, err := exec.Command("curl", "-sSf", "--data-binary", "@"+filepath.Join(dir, fileGz), url).CombinedOutput()
		require.NoError(t, err, "%s", out)
		st := waitPhase(t, a, "post", api.ImageReady, 30*time.Second)
		assert.Equal(t, "qcow2", st.Format)
		assert.Equal(t, fmt.Sprint(rawSize), st.Size.UnpackedBytes)
	})
	t.Run("davit upload", func(t *testing.T) {
		waitUploadURL(t, a, "clustervirtualimages", "cli")
		out, errOut, code := a.CLI("", "upload", "cvi", "cli", filepath.Join(dir, fileISO))
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "clustervirtualimage/cli uploaded\n", out)
		assert.True(t, waitPhase(t, a, "cli", api.ImageReady, 10*time.Second).CDROM)
		// Uploading twice is refused: the image no longer waits for one.
		_, errOut, code = a.CLI("", "upload", "cvi", "cli", filepath.Join(dir, fileISO))
		assert.NotEqual(t, 0, code)
		assert.Contains(t, errOut, "not waiting for an upload")
	})
	t.Run("VirtualImage with checksum", func(t *testing.T) {
		waitUploadURL(t, a, "virtualimages", "default/vi-upload")
		_, errOut, code := a.CLI("", "upload", "vi", "-n", "default", "vi-upload", filepath.Join(dir, fileRaw))
		require.Equal(t, 0, code, errOut)
		waitKindPhase(t, a.URL(), "virtualimages", "default/vi-upload", api.ImageReady, 10*time.Second)
	})
	t.Run("checksum mismatch", func(t *testing.T) {
		apply(t, a, cviYAML("bad-sum", "    type: Upload\n    upload:\n      checksum:\n        md5: \""+strings.Repeat("0", 32)+"\"\n"))
		url := waitUploadURL(t, a, "clustervirtualimages", "bad-sum")
		assert.Equal(t, "422", curlCode(t, "-T", filepath.Join(dir, fileSmall), url))
		cond := readyCond(t, waitPhase(t, a, "bad-sum", api.ImageFailed, 10*time.Second))
		assert.Equal(t, "ProvisioningFailedTerminally", cond.Reason)
	})
	t.Run("corrupt file", func(t *testing.T) {
		url := waitUploadURL(t, a, "clustervirtualimages", "corrupt")
		assert.Equal(t, "422", curlCode(t, "-T", filepath.Join(dir, fileTrunc), url))
		cond := readyCond(t, waitPhase(t, a, "corrupt", api.ImageFailed, 10*time.Second))
		assert.Contains(t, cond.Message, "corrupt")
	})
	noTempFiles(t, a.DataDir)
}

// An upload cut off midway keeps nothing: the image waits for a new
// upload at a new URL, with a message saying what happened.
func TestUploadCutOff(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	a := startAgent(t, "")
	apply(t, a, uploadYAML("cut"))
	url := waitUploadURL(t, a, "clustervirtualimages", "cut")
	body, err := os.ReadFile(filepath.Join(dir, fileQCOW2))
	require.NoError(t, err)

	conn, err := net.Dial("tcp", a.HTTPAddr)
	require.NoError(t, err)
	path := strings.TrimPrefix(url, a.URL())
	_, err = fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n", path, a.HTTPAddr, len(body))
	require.NoError(t, err)
	_, err = conn.Write(body[:len(body)/2])
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, conn.Close())

	var st imagectl.Status
	require.Eventually(t, func() bool {
		st, _ = image(t, a.URL(), "clustervirtualimages", "cut")
		return st.Phase == api.ImageWaitForUserUpload && st.ImageUploadURLs != nil && st.ImageUploadURLs.External != url
	}, 20*time.Second, 100*time.Millisecond, "no new URL after the cut")
	cond := readyCond(t, st)
	assert.Equal(t, "WaitForUserUpload", cond.Reason)
	assert.Contains(t, cond.Message, "cut off after")
	assert.Contains(t, cond.Message, fmt.Sprintf("of %d bytes", len(body)))
	assert.Equal(t, "403", curlCode(t, "-T", filepath.Join(dir, fileSmall), url), "the old URL is dead")
	noTempFiles(t, a.DataDir)
	assert.Empty(t, storedBlobs(t, a.DataDir))

	// The whole file to the new URL makes it Ready.
	assert.Equal(t, "200", curlCode(t, "-T", filepath.Join(dir, fileQCOW2), st.ImageUploadURLs.External))
	waitPhase(t, a, "cut", api.ImageReady, 10*time.Second)
}

// An upload that has not started within the (here shortened) deadline
// fails with WaitForUserUploadTimeout and its URLs are withdrawn.
func TestUploadDeadline(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	a := startAgent(t, "  uploadStartTimeout: 2s\n")
	apply(t, a, uploadYAML("late"))
	url := waitUploadURL(t, a, "clustervirtualimages", "late")
	st := waitPhase(t, a, "late", api.ImageFailed, 20*time.Second)
	cond := readyCond(t, st)
	assert.Equal(t, "WaitForUserUploadTimeout", cond.Reason)
	assert.Contains(t, cond.Message, "within 2s")
	assert.Nil(t, st.ImageUploadURLs, "the URLs are withdrawn")
	assert.Equal(t, "403", curlCode(t, "-T", filepath.Join(dir, fileSmall), url))
}
