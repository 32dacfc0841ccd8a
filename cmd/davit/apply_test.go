package main

import (
	"os"
	"path/filepath"
	"testing"

	"davit/agent/client/clienttest"
	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const manifests = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: ubuntu-22.04
spec:
  # A source for image creation.
  dataSource:
    type: HTTP
    http:
      url: "https://cloud-images.ubuntu.com/minimal/releases/jammy/release/ubuntu-22.04-minimal-cloudimg-amd64.img"
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  name: evict-linux-vm
spec:
  virtualMachineName: linux-vm
  type: Evict
`

func TestApplyStdin(t *testing.T) {
	srv := clienttest.NewServer(t)
	r := davit(t, srv, manifests, "apply", "-f", "-")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage/ubuntu-22.04 created\nvirtualmachineoperation/evict-linux-vm created\n", r.stdout)
	require.NotNil(t, srv.Object("VirtualMachineOperation", "default", "evict-linux-vm"), "namespaced kinds default to the default namespace")

	r = davit(t, srv, manifests, "apply", "-f", "-")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage/ubuntu-22.04 unchanged\nvirtualmachineoperation/evict-linux-vm unchanged\n", r.stdout)

	r = davit(t, srv, manifests, "apply", "-f", "-", "-n", "prod")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage/ubuntu-22.04 unchanged\nvirtualmachineoperation/evict-linux-vm created\n", r.stdout)
	assert.NotNil(t, srv.Object("VirtualMachineOperation", "prod", "evict-linux-vm"))
}

func TestApplyFilesAndDirectories(t *testing.T) {
	srv := clienttest.NewServer(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(manifests), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644))
	r := davit(t, srv, "", "apply", "-f", dir)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage/ubuntu-22.04 created\nvirtualmachineoperation/evict-linux-vm created\n", r.stdout)

	changed := []byte(`{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"ClusterVirtualImage",
"metadata":{"name":"ubuntu-22.04","labels":{"os":"ubuntu"}},"spec":{"dataSource":{"type":"Upload"}}}`)
	f := filepath.Join(dir, "b.json")
	require.NoError(t, os.WriteFile(f, changed, 0o644))
	r = davit(t, srv, "", "apply", "-f", f)
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage/ubuntu-22.04 configured\n", r.stdout)

	r = davit(t, srv, "", "apply", "-f", filepath.Join(dir, "missing.yaml"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "does not exist")
}

func TestApplyDecodeErrorsSendNothing(t *testing.T) {
	srv := clienttest.NewServer(t)
	bad := manifests + `---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  name: x
spec:
  virtualMachineName: linux-vm
  typo: Evict
`
	r := davit(t, srv, bad, "apply", "-f", "-")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Contains(t, r.stderr, "error: stdin: document 3")
	assert.Contains(t, r.stderr, "spec.typo")
	for _, req := range srv.Requests() {
		assert.NotContains(t, req, "PUT", "nothing is sent when a document is bad")
	}

	r = davit(t, srv, "", "apply", "-f", "-")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error: no objects passed to apply\n", r.stderr)

	r = davit(t, srv, "", "apply")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "must specify -f")
}

func TestApplyNamespaceMismatch(t *testing.T) {
	srv := clienttest.NewServer(t)
	doc := `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata: {name: x, namespace: prod}
spec: {virtualMachineName: vm, type: Evict}
`
	r := davit(t, srv, doc, "apply", "-f", "-", "-n", "dev")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `the namespace from the provided object "prod" does not match the namespace "dev"`)
	r = davit(t, srv, doc, "apply", "-f", "-")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.NotNil(t, srv.Object("VirtualMachineOperation", "prod", "x"))
}

func TestApplyServerErrors(t *testing.T) {
	srv := clienttest.NewServer(t)
	causes := []api.FieldError{
		{Type: api.ErrForbidden, Field: "spec", Detail: "the spec is immutable once the image is Ready"},
	}
	srv.Fail("PUT", "/v1/clustervirtualimages/ubuntu-22.04", clienttest.Status{Code: 422, Reason: "Invalid",
		Message: `ClusterVirtualImage "ubuntu-22.04" is invalid: ` + api.FieldErrors(causes).Error(),
		Details: &clienttest.StatusDetails{Kind: "ClusterVirtualImage", Name: "ubuntu-22.04", Causes: causes}})
	r := davit(t, srv, manifests, "apply", "-f", "-")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "virtualmachineoperation/evict-linux-vm created\n", r.stdout, "the other documents still apply")
	assert.Equal(t, `Error from server (Invalid): ClusterVirtualImage "ubuntu-22.04" is invalid:
* spec: Forbidden: the spec is immutable once the image is Ready
`, r.stderr)
}

func TestDeleteFromFile(t *testing.T) {
	srv := clienttest.NewServer(t)
	require.Equal(t, 0, davit(t, srv, manifests, "apply", "-f", "-").code)
	r := davit(t, srv, manifests, "delete", "-f", "-")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage \"ubuntu-22.04\" deleted\nvirtualmachineoperation \"evict-linux-vm\" deleted\n", r.stdout)
}
