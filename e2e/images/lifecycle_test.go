package e2eimages

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const vmUsingImage = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: vm1
  namespace: prod
spec:
  virtualMachineClassName: generic
  runPolicy: Manual
  cpu:
    cores: 1
    coreFraction: 100%
  memory:
    size: 1Gi
  blockDeviceRefs:
  - kind: ClusterVirtualImage
    name: used
`

// Deleting an image a VM uses leaves it Terminating with InUse naming the
// VM; once released it goes, and so does its blob unless another image
// shares it.
func TestDeleteWaitsForUsers(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "")
	apply(t, a, strings.Join([]string{
		cviYAML("used", httpSource(src.URL("/files/"+fileRaw))),
		cviYAML("shared", httpSource(src.URL("/files/"+fileISO))),
		cviYAML("copy", "    type: ObjectRef\n    objectRef:\n      kind: ClusterVirtualImage\n      name: shared\n"),
	}, "---\n"))
	used := waitPhase(t, a, "used", api.ImageReady, 30*time.Second)
	shared := waitPhase(t, a, "shared", api.ImageReady, 30*time.Second)
	waitPhase(t, a, "copy", api.ImageReady, 30*time.Second)
	apply(t, a, vmUsingImage)

	require.Eventually(t, func() bool {
		st, _ := image(t, a.URL(), "clustervirtualimages", "used")
		c := api.FindCondition(st.Conditions, "InUse")
		return slices.Equal(st.UsedInNamespaces, []string{"prod"}) && c != nil && c.Status == api.ConditionTrue
	}, 10*time.Second, 100*time.Millisecond, "usedInNamespaces and InUse")

	_, errOut, code := a.CLI("", "delete", "cvi", "used", "--wait=false")
	require.Equal(t, 0, code, errOut)
	time.Sleep(2 * time.Second)
	st, ok := image(t, a.URL(), "clustervirtualimages", "used")
	require.True(t, ok, "deleted while a VM uses it")
	assert.Equal(t, api.ImageTerminating, st.Phase)
	inUse := api.FindCondition(st.Conditions, "InUse")
	require.NotNil(t, inUse)
	assert.Equal(t, "AttachedToVirtualMachine", inUse.Reason)
	assert.Contains(t, inUse.Message, "VirtualMachine prod/vm1")
	out, _, _ := a.CLI("", "get", "cvi", "used")
	assert.Contains(t, out, "Terminating")

	_, errOut, code = a.CLI("", "delete", "vm", "vm1", "-n", "prod")
	require.Equal(t, 0, code, errOut)
	require.Eventually(t, func() bool {
		_, ok := image(t, a.URL(), "clustervirtualimages", "used")
		return !ok
	}, 20*time.Second, 100*time.Millisecond, "the released image was not deleted")

	_, _, code = a.CLI("", "delete", "cvi", "shared")
	require.Equal(t, 0, code)
	require.Eventually(t, func() bool {
		return !slices.Contains(storedBlobs(t, a.DataDir), used.Blob.Digest)
	}, 30*time.Second, 200*time.Millisecond, "the deleted image's blob stayed")
	assert.Contains(t, storedBlobs(t, a.DataDir), shared.Blob.Digest, "the copy still needs the shared blob")
	noTempFiles(t, a.DataDir)
}

// A node checks its blobs when it starts: a corrupt copy is dropped, and
// an image nobody else holds turns ImageLost.
func TestCorruptBlobTurnsImageLost(t *testing.T) {
	t.Parallel()
	src := newSource(t)
	a := startAgent(t, "")
	apply(t, a, cviYAML("fragile", httpSource(src.URL("/files/"+fileQCOW2))))
	st := waitPhase(t, a, "fragile", api.ImageReady, 30*time.Second)
	a.Stop()
	blob := filepath.Join(a.DataDir, "images", "sha256", strings.TrimPrefix(st.Blob.Digest, "sha256:"))
	require.NoError(t, os.Chmod(blob, 0o644))
	f, err := os.OpenFile(blob, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("garbage"), 4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	a.Start()
	require.Eventually(t, func() bool {
		st, _ = image(t, a.URL(), "clustervirtualimages", "fragile")
		return st.Phase == api.ImageLost
	}, 30*time.Second, 100*time.Millisecond, "the image did not turn ImageLost")
	cond := readyCond(t, st)
	assert.Equal(t, "ImageLost", cond.Reason)
	assert.Contains(t, cond.Message, "delete and recreate")
	assert.NoFileExists(t, blob, "the corrupt copy is not kept")
	out, _, _ := a.CLI("", "get", "cvi", "fragile")
	assert.Contains(t, out, "ImageLost")
}
