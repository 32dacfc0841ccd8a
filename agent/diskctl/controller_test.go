package diskctl

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"davit/api"
	"davit/images"
	"davit/raftstore"
	"davit/raftstore/raftstoretest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCluster is a one-node Raft store as the controller's Cluster.
type testCluster struct{ *raftstore.Store }

func (c testCluster) Apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error) {
	return c.Store.Apply(ctx, cmd)
}
func (c testCluster) NodeHTTPAddr(string) string { return "" }

// fakeBlobs is a content store with one blob, counting its callers.
type fakeBlobs struct {
	mu    sync.Mutex
	paths map[string]string
	calls int
}

func (b *fakeBlobs) LocalBlob(_ context.Context, digest string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if p, ok := b.paths[digest]; ok {
		return p, nil
	}
	return "", os.ErrNotExist
}

func newTestStore(t *testing.T) *raftstore.Store { return raftstoretest.New(t) }

func mustApply(t *testing.T, s *raftstore.Store, cmd raftstore.Command) *raftstore.Result {
	t.Helper()
	res, err := s.Apply(context.Background(), cmd)
	require.NoError(t, err)
	require.NoError(t, res.Err)
	return res
}

// put creates or updates an object of kind from its JSON form (spec only).
func put(t *testing.T, s *raftstore.Store, kind, ns, name string, meta map[string]string, spec any) {
	t.Helper()
	b, err := json.Marshal(spec)
	require.NoError(t, err)
	obj := &api.Object{TypeMeta: api.TypeMeta{Kind: kind}, Metadata: api.ObjectMeta{Namespace: ns, Name: name, Annotations: meta}, Spec: b}
	mustApply(t, s, raftstore.PutCommand(kind, obj))
}

func setStatus(t *testing.T, s *raftstore.Store, kind, ns, name string, st any) {
	t.Helper()
	b, err := json.Marshal(st)
	require.NoError(t, err)
	obj := &api.Object{Metadata: api.ObjectMeta{Namespace: ns, Name: name}, Status: b}
	mustApply(t, s, raftstore.UpdateStatusCommand(kind, obj))
}

func waitDisk(t *testing.T, s *raftstore.Store, name string, ok func(api.VirtualDiskStatus) bool) api.VirtualDiskStatus {
	t.Helper()
	var st api.VirtualDiskStatus
	require.Eventually(t, func() bool {
		obj, err := s.Get(api.KindVirtualDisk, "ns1", name)
		if err != nil {
			return false
		}
		d, err := decodeDisk(obj)
		require.NoError(t, err)
		st = d.status
		return ok(st)
	}, 30*time.Second, 20*time.Millisecond, "disk %s (last status phase %q, conditions %+v)", name, st.Phase, st.Conditions)
	return st
}

func phaseIs(p api.DiskPhase) func(api.VirtualDiskStatus) bool {
	return func(st api.VirtualDiskStatus) bool { return st.Phase == p }
}

func qemuInfo(t *testing.T, path string) images.ImageInfo {
	t.Helper()
	info, err := images.Info(context.Background(), path, images.FormatQCOW2)
	require.NoError(t, err)
	return info
}

// The controller against a real Raft store and real qemu-img, in-process
// (so -race sees it): a blank disk on a shared class, a disk copied from
// an image, a WaitForFirstConsumer disk bound by a placed VM, offline and
// online resize, deletion held by a running VM, and a clean stop.
func TestControllerDisks(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	dir := t.TempDir()
	blob := filepath.Join(dir, "blob.qcow2")
	require.NoError(t, images.Create(context.Background(), blob, 8<<20))
	blobs := &fakeBlobs{paths: map[string]string{"sha256:beef": blob}}

	s := newTestStore(t)
	shared := filepath.Join(dir, "shared")
	put(t, s, "StorageClass", "", "local", map[string]string{api.DefaultStorageClassAnnotation: "true"},
		api.StorageClassSpec{Type: "local", VolumeBindingMode: api.BindingWaitForFirstConsumer, AllowVolumeExpansion: true})
	put(t, s, "StorageClass", "", "nfs", nil, api.StorageClassSpec{Type: "shared", Path: shared,
		VolumeBindingMode: api.BindingImmediate, AllowVolumeExpansion: true})
	put(t, s, api.KindClusterVirtualImage, "", "ubuntu", nil, map[string]any{"dataSource": map[string]any{
		"type": "HTTP", "http": map[string]string{"url": "http://example/u.qcow2"}}})
	setStatus(t, s, api.KindClusterVirtualImage, "", "ubuntu", map[string]any{"phase": "Ready", "format": "qcow2",
		"size": map[string]string{"unpackedBytes": "8388608"}, "blob": map[string]any{"digest": "sha256:beef"}})

	var onlineMu sync.Mutex
	var onlineCalls []string
	cfg := DefaultConfig()
	cfg.NodeName, cfg.DataDir = "n1", filepath.Join(dir, "data")
	cfg.Resync, cfg.RetryBase, cfg.RetryMax = 30*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	cfg.Online = func(_ context.Context, path string, size int64) (bool, error) {
		onlineMu.Lock()
		defer onlineMu.Unlock()
		onlineCalls = append(onlineCalls, path)
		// Stands in for QMP block_resize: qemu-img on the file.
		return true, images.Resize(context.Background(), path, images.FormatQCOW2, size, false)
	}
	c, err := New(cfg, testCluster{s}, blobs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			cancel()
			<-done
			stopped = true
		}
	}
	defer stop()

	put(t, s, api.KindVirtualDisk, "ns1", "blank", nil, map[string]any{
		"persistentVolumeClaim": map[string]string{"size": "64Mi", "storageClassName": "nfs"}})
	put(t, s, api.KindVirtualDisk, "ns1", "fromimg", nil, map[string]any{
		"persistentVolumeClaim": map[string]string{"size": "16Mi", "storageClassName": "nfs"},
		"dataSource":            map[string]any{"type": "ObjectRef", "objectRef": map[string]string{"kind": "ClusterVirtualImage", "name": "ubuntu"}}})
	put(t, s, api.KindVirtualDisk, "ns1", "wffc", nil, map[string]any{"persistentVolumeClaim": map[string]string{"size": "32Mi"}})

	st := waitDisk(t, s, "blank", phaseIs(api.DiskReady))
	assert.Equal(t, "64Mi", st.Capacity)
	assert.Equal(t, "100%", st.Progress)
	assert.Equal(t, "nfs", st.StorageClassName)
	require.NotNil(t, st.Volume)
	assert.Equal(t, "n1", st.Volume.Node)
	assert.Equal(t, "qcow2", st.Volume.Format)
	assert.Equal(t, shared, filepath.Dir(filepath.Dir(st.Volume.Path)))
	assert.Equal(t, int64(64<<20), qemuInfo(t, st.Volume.Path).VirtualSize)
	assert.True(t, api.IsConditionTrue(st.Conditions, condReady))
	assert.True(t, strings.HasPrefix(st.Target.PersistentVolumeClaimName, "vd-blank-"))

	img := waitDisk(t, s, "fromimg", phaseIs(api.DiskReady))
	info := qemuInfo(t, img.Volume.Path)
	assert.Equal(t, int64(16<<20), info.VirtualSize, "grown from the image's 8Mi to the spec's 16Mi")
	assert.Empty(t, info.BackingFile, "an independent copy, not an overlay of the blob")
	assert.Equal(t, "16Mi", img.Capacity)
	entries, err := os.ReadDir(filepath.Dir(img.Volume.Path))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".tmp"), "temporary file left: %s", e.Name())
	}

	// WaitForFirstConsumer: nothing until a VM using it is placed here.
	waitDisk(t, s, "wffc", phaseIs(api.DiskWaitForFirstConsumer))
	put(t, s, "VirtualMachine", "ns1", "vm1", nil, map[string]any{
		"blockDeviceRefs": []map[string]string{{"kind": "VirtualDisk", "name": "wffc"}}})
	time.Sleep(100 * time.Millisecond)
	waitDisk(t, s, "wffc", phaseIs(api.DiskWaitForFirstConsumer))
	setStatus(t, s, "VirtualMachine", "ns1", "vm1", map[string]any{"phase": "Starting", "nodeName": "n1"})
	w := waitDisk(t, s, "wffc", phaseIs(api.DiskReady))
	assert.Equal(t, filepath.Join(cfg.DataDir, "storage", "local", "ns1"), filepath.Dir(w.Volume.Path))
	assert.Equal(t, []api.AttachedVirtualMachine{{Name: "vm1", Mounted: true}}, w.AttachedToVirtualMachines)
	assert.Equal(t, "True/AttachedToVirtualMachine", cond(t, w, condInUse))
	require.NotNil(t, w.Stats)
	assert.NotEmpty(t, w.Stats.CreationDuration.WaitingForFirstConsumer)

	// Offline resize of the blank disk; online (through the hook) of the
	// one the VM has open.
	put(t, s, api.KindVirtualDisk, "ns1", "blank", nil, map[string]any{
		"persistentVolumeClaim": map[string]string{"size": "128Mi", "storageClassName": "nfs"}})
	st = waitDisk(t, s, "blank", func(st api.VirtualDiskStatus) bool { return st.Phase == api.DiskReady && st.Capacity == "128Mi" })
	assert.Equal(t, int64(128<<20), qemuInfo(t, st.Volume.Path).VirtualSize)
	assert.Nil(t, api.FindCondition(st.Conditions, condResizing))
	put(t, s, api.KindVirtualDisk, "ns1", "wffc", nil, map[string]any{"persistentVolumeClaim": map[string]string{"size": "48Mi"}})
	waitDisk(t, s, "wffc", func(st api.VirtualDiskStatus) bool { return st.Phase == api.DiskReady && st.Capacity == "48Mi" })
	onlineMu.Lock()
	assert.Equal(t, []string{w.Volume.Path}, onlineCalls)
	onlineMu.Unlock()
	assert.Equal(t, int64(48<<20), qemuInfo(t, w.Volume.Path).VirtualSize)

	// Deletion: the unused disks go with their files; the one a running VM
	// holds stays Terminating until the VM stops.
	for _, n := range []string{"blank", "fromimg", "wffc"} {
		res := mustApply(t, s, raftstore.DeleteCommand(api.KindVirtualDisk, "ns1", n, ""))
		assert.Equal(t, raftstore.OutcomeDeletionStarted, res.Outcome, "the finalizer holds %s", n)
	}
	gone := func(n string) bool { _, err := s.Get(api.KindVirtualDisk, "ns1", n); return err != nil }
	require.Eventually(t, func() bool { return gone("blank") && gone("fromimg") }, 10*time.Second, 20*time.Millisecond)
	assert.NoFileExists(t, st.Volume.Path)
	assert.NoFileExists(t, img.Volume.Path)
	waitDisk(t, s, "wffc", phaseIs(api.DiskTerminating))
	time.Sleep(150 * time.Millisecond)
	assert.FileExists(t, w.Volume.Path, "a running VM still has it")
	setStatus(t, s, "VirtualMachine", "ns1", "vm1", map[string]any{"phase": "Stopped"})
	require.Eventually(t, func() bool { return gone("wffc") }, 10*time.Second, 20*time.Millisecond)
	assert.NoFileExists(t, w.Volume.Path)

	stop()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	assert.NotContains(t, strings.ReplaceAll(stacks, "diskctl.TestControllerDisks", ""), "davit/agent/diskctl.",
		"a controller goroutine outlived Run")
}

// A disk whose image blob cannot be fetched fails with the reason and
// recovers once the blob is there.
func TestControllerProvisionFailureRetries(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	dir := t.TempDir()
	blobs := &fakeBlobs{paths: map[string]string{}}
	s := newTestStore(t)
	put(t, s, "StorageClass", "", "nfs", nil, api.StorageClassSpec{Type: "shared", Path: filepath.Join(dir, "shared"),
		VolumeBindingMode: api.BindingImmediate})
	put(t, s, api.KindClusterVirtualImage, "", "img", nil, map[string]any{"dataSource": map[string]any{"type": "Upload"}})
	setStatus(t, s, api.KindClusterVirtualImage, "", "img", map[string]any{"phase": "Ready", "format": "qcow2",
		"size": map[string]string{"unpackedBytes": "4194304"}, "blob": map[string]any{"digest": "sha256:cafe"}})
	cfg := DefaultConfig()
	cfg.NodeName, cfg.DataDir = "n1", filepath.Join(dir, "data")
	cfg.Resync, cfg.RetryBase, cfg.RetryMax = 30*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
	c, err := New(cfg, testCluster{s}, blobs)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	put(t, s, api.KindVirtualDisk, "ns1", "d", nil, map[string]any{
		"persistentVolumeClaim": map[string]string{"storageClassName": "nfs"},
		"dataSource":            map[string]any{"type": "ObjectRef", "objectRef": map[string]string{"kind": "ClusterVirtualImage", "name": "img"}}})
	st := waitDisk(t, s, "d", phaseIs(api.DiskFailed))
	assert.Equal(t, "False/ProvisioningFailed", cond(t, st, condReady))
	assert.Contains(t, api.FindCondition(st.Conditions, condReady).Message, "get image onto node n1")

	blob := filepath.Join(dir, "blob.qcow2")
	require.NoError(t, images.Create(context.Background(), blob, 4<<20))
	blobs.mu.Lock()
	blobs.paths["sha256:cafe"] = blob
	blobs.mu.Unlock()
	st = waitDisk(t, s, "d", phaseIs(api.DiskReady))
	assert.Equal(t, "4Mi", st.Capacity, "default size: the image's unpacked size")
}

func TestConfigValidateNamesFields(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Resync = -time.Second
	err := cfg.Validate()
	require.Error(t, err)
	for _, s := range []string{"nodeName", "dataDir", "resync: -1s"} {
		assert.ErrorContains(t, err, s)
	}
	_, err = New(cfg, nil, nil)
	assert.ErrorContains(t, err, "disk controller config")
}
