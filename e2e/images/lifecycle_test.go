package e2eimages

import (
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

	_, errOut, code := a.CLI("", "delete", "cvi", "used")
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
