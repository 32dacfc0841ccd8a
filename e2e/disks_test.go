package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"davit/api"
	"davit/images"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// diskStatus reads a VirtualDisk's status over the API.
func diskStatus(t *testing.T, a *Agent, ns, name string) (api.VirtualDiskStatus, bool) {
	t.Helper()
	resp, err := http.Get(a.URL() + "/v1/namespaces/" + ns + "/virtualdisks/" + name)
	if err != nil {
		return api.VirtualDiskStatus{}, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return api.VirtualDiskStatus{}, false
	}
	var obj struct {
		Status api.VirtualDiskStatus `json:"status"`
	}
	b, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(b, &obj))
	return obj.Status, true
}

func waitDiskPhase(t *testing.T, a *Agent, ns, name string, phase api.DiskPhase, d time.Duration) api.VirtualDiskStatus {
	t.Helper()
	var st api.VirtualDiskStatus
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		var ok bool
		if st, ok = diskStatus(t, a, ns, name); ok && st.Phase == phase {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	msg := "no Ready condition"
	if c := api.FindCondition(st.Conditions, "Ready"); c != nil {
		msg = c.Reason + ": " + c.Message
	}
	t.Fatalf("disk %s/%s did not reach %s within %s (phase %q, %s)", ns, name, phase, d, st.Phase, msg)
	return st
}

// A real agent: a CVI imported over HTTP, a disk copied from it and a
// blank disk, both on a shared class with a temporary path (Immediate
// binding: Ready without a VM); the files are real qcow2 files, a size
// change grows one, and deletion removes both. A blank disk on the default
// local class (WaitForFirstConsumer) waits for a VM.
func TestDisksOnSharedClass(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	a := startSingle(t)
	t.Cleanup(func() {
		if t.Failed() {
			log := a.Log.String()
			if len(log) > 6000 {
				log = log[len(log)-6000:]
			}
			t.Logf("agent log:\n%s", log)
		}
	})
	src := t.TempDir()
	require.NoError(t, images.Create(context.Background(), filepath.Join(src, "disk.qcow2"), 8<<20))
	files := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer files.Close()
	shared := t.TempDir()

	require.Eventually(t, func() bool {
		_, _, code := a.CLI("", "get", "settings", "cluster")
		return code == 0
	}, 20*time.Second, 100*time.Millisecond, "the leader never bootstrapped the cluster")
	manifest := fmt.Sprintf(`apiVersion: davit/v1
kind: StorageClass
metadata:
  name: nfs
spec:
  type: shared
  path: %s
  allowVolumeExpansion: true
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: tiny
spec:
  dataSource:
    type: HTTP
    http:
      url: %s/disk.qcow2
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: root
  namespace: default
spec:
  persistentVolumeClaim:
    storageClassName: nfs
    size: 16Mi
  dataSource:
    type: ObjectRef
    objectRef:
      kind: ClusterVirtualImage
      name: tiny
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: data
  namespace: default
spec:
  persistentVolumeClaim:
    storageClassName: nfs
    size: 32Mi
---
apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: local-data
  namespace: default
spec:
  persistentVolumeClaim:
    size: 32Mi
`, shared, files.URL)
	out, errOut, code := a.CLI(manifest, "apply", "-f", "-")
	require.Equal(t, 0, code, "apply: %s%s", out, errOut)

	root := waitDiskPhase(t, a, "default", "root", api.DiskReady, 60*time.Second)
	data := waitDiskPhase(t, a, "default", "data", api.DiskReady, 30*time.Second)
	for _, st := range []api.VirtualDiskStatus{root, data} {
		require.NotNil(t, st.Volume)
		assert.Equal(t, "node1", st.Volume.Node)
		assert.Equal(t, "qcow2", st.Volume.Format)
		assert.True(t, strings.HasPrefix(st.Volume.Path, filepath.Join(shared, "default")+"/"), st.Volume.Path)
		assert.Equal(t, "nfs", st.StorageClassName)
		assert.Equal(t, "100%", st.Progress)
	}
	assert.Equal(t, "16Mi", root.Capacity)
	assert.Equal(t, "32Mi", data.Capacity)
	info, err := images.Info(context.Background(), root.Volume.Path, images.FormatQCOW2)
	require.NoError(t, err)
	assert.Equal(t, int64(16<<20), info.VirtualSize)
	assert.Empty(t, info.BackingFile, "a disk is an independent copy of its image")

	// The local class waits for the first VM using the disk.
	local := waitDiskPhase(t, a, "default", "local-data", api.DiskWaitForFirstConsumer, 20*time.Second)
	assert.Equal(t, "local", local.StorageClassName)
	assert.Nil(t, local.Volume)

	out, _, code = a.CLI("", "get", "vd", "-n", "default")
	require.Equal(t, 0, code)
	assert.Regexp(t, `root\s+Ready\s+16Mi`, out)
	assert.Regexp(t, `local-data\s+WaitForFirstConsumer`, out)

	// Grow the blank disk.
	out, errOut, code = a.CLI(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: data
  namespace: default
spec:
  persistentVolumeClaim:
    storageClassName: nfs
    size: 64Mi
`, "apply", "-f", "-")
	require.Equal(t, 0, code, "apply: %s%s", out, errOut)
	require.Eventually(t, func() bool {
		st, ok := diskStatus(t, a, "default", "data")
		return ok && st.Phase == api.DiskReady && st.Capacity == "64Mi"
	}, 20*time.Second, 100*time.Millisecond, "the disk did not grow")
	info, err = images.Info(context.Background(), data.Volume.Path, images.FormatQCOW2)
	require.NoError(t, err)
	assert.Equal(t, int64(64<<20), info.VirtualSize)

	// Deletion removes the files, then the disks.
	for _, n := range []string{"root", "data", "local-data"} {
		_, errOut, code = a.CLI("", "delete", "vd", n, "-n", "default")
		require.Equal(t, 0, code, errOut)
	}
	require.Eventually(t, func() bool {
		for _, n := range []string{"root", "data", "local-data"} {
			if _, ok := diskStatus(t, a, "default", n); ok {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "deleted disks remain")
	for _, p := range []string{root.Volume.Path, data.Volume.Path} {
		_, err := os.Stat(p)
		assert.True(t, os.IsNotExist(err), "file %s remains", p)
	}
}

// The admin guide's virtualDisks settings: a disk naming a class the
// settings do not allow is rejected at apply with the field named; a disk
// without a class gets the settings' default; the disk records the modes
// its class gave it.
func TestDiskClassNotAllowed(t *testing.T) {
	t.Parallel()
	a := NewAgent(t, "dca")
	a.Start()
	shared := filepath.Join(a.DataDir, "nfs")
	_, errOut, code := a.CLI(`apiVersion: davit/v1
kind: StorageClass
metadata:
  name: nfs
spec:
  type: shared
  path: `+shared+`
---
apiVersion: davit/v1
kind: Settings
metadata:
  name: cluster
spec:
  virtualDisks:
    allowedStorageClassNames: [nfs]
    defaultStorageClassName: nfs
`, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = a.CLI(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: local-one
spec:
  persistentVolumeClaim:
    size: 16Mi
    storageClassName: local
`, "apply", "-f", "-")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "spec.persistentVolumeClaim.storageClassName")
	require.Contains(t, errOut, "not allowed")

	_, errOut, code = a.CLI(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: defaulted
spec:
  persistentVolumeClaim:
    size: 16Mi
`, "apply", "-f", "-")
	require.Equal(t, 0, code, errOut)
	st := waitDiskPhase(t, a, "default", "defaulted", api.DiskReady, 60*time.Second)
	require.Equal(t, "nfs", st.StorageClassName)
	require.NotNil(t, st.Volume)
	require.Equal(t, api.AccessReadWriteMany, st.Volume.AccessMode)
	require.Equal(t, api.VolumeModeFileSystem, st.Volume.VolumeMode)
}
