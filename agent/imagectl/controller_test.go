package imagectl

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"davit/api"
	"davit/raftstore"
	"davit/raftstore/raftstoretest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCluster is a one-node Raft store as the controller's Cluster.
type testCluster struct {
	*raftstore.Store
	addr string
}

func (c testCluster) Apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error) {
	return c.Store.Apply(ctx, cmd)
}
func (c testCluster) NodeHTTPAddr(string) string { return c.addr }

func newTestStore(t *testing.T) *raftstore.Store { return raftstoretest.New(t) }

func createImage(t *testing.T, s *raftstore.Store, name string, ds api.DataSource) {
	t.Helper()
	spec, err := json.Marshal(map[string]any{"dataSource": ds})
	require.NoError(t, err)
	obj := &api.Object{TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: api.KindClusterVirtualImage},
		Metadata: api.ObjectMeta{Name: name}, Spec: spec}
	res, err := s.Apply(context.Background(), raftstore.CreateCommand(obj.Kind, obj))
	require.NoError(t, err)
	require.NoError(t, res.Err)
}

func waitStatus(t *testing.T, s *raftstore.Store, name string, cond func(Status) bool) Status {
	t.Helper()
	var st Status
	require.Eventually(t, func() bool {
		obj, err := s.Get(api.KindClusterVirtualImage, "", name)
		if err != nil {
			return false
		}
		im, err := decodeImage(obj)
		require.NoError(t, err)
		st = im.status
		return cond(st)
	}, 20*time.Second, 20*time.Millisecond, "image %s", name)
	return st
}

// The controller against a real Raft store, in-process (so -race sees
// it): an HTTP import, an upload through its handler, deletion and blob
// collection, and a clean stop with no goroutine left.
func TestControllerEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.qcow2")
	require.NoError(t, exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "8M").Run())
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer files.Close()

	s := newTestStore(t)
	api1 := httptest.NewUnstartedServer(nil)
	cfg := DefaultConfig()
	cfg.NodeName, cfg.AdvertiseHTTP, cfg.StoreDir = "n1", api1.Listener.Addr().String(), filepath.Join(dir, "images")
	cfg.Resync, cfg.GCGrace = 50*time.Millisecond, 100*time.Millisecond
	c, err := New(cfg, testCluster{Store: s, addr: cfg.AdvertiseHTTP})
	require.NoError(t, err)
	mux := http.NewServeMux()
	for p, h := range c.Handlers() {
		mux.Handle(p, h)
	}
	api1.Config.Handler = mux
	api1.Start()
	defer api1.Close()

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

	createImage(t, s, "web", api.DataSource{Type: api.DataSourceTypeHTTP, HTTP: &api.DataSourceHTTP{URL: files.URL + "/disk.qcow2"}})
	createImage(t, s, "up", api.DataSource{Type: api.DataSourceTypeUpload})
	web := waitStatus(t, s, "web", func(st Status) bool { return st.Phase == api.ImageReady })
	assert.Equal(t, "8Mi", web.Size.Unpacked)

	up := waitStatus(t, s, "up", func(st Status) bool { return st.ImageUploadURLs != nil })
	body, err := os.ReadFile(img)
	require.NoError(t, err)
	resp, err := http.Post(up.ImageUploadURLs.External, "application/octet-stream", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	up = waitStatus(t, s, "up", func(st Status) bool { return st.Phase == api.ImageReady })
	assert.Equal(t, web.digest(), up.digest(), "the same bytes are one blob")

	res, err := s.Apply(ctx, raftstore.DeleteCommand(api.KindClusterVirtualImage, "", "web", ""))
	require.NoError(t, err)
	require.NoError(t, res.Err)
	res, err = s.Apply(ctx, raftstore.DeleteCommand(api.KindClusterVirtualImage, "", "up", ""))
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Eventually(t, func() bool {
		blobs, err := c.Store().List(ctx)
		return err == nil && len(blobs) == 0
	}, 10*time.Second, 20*time.Millisecond, "unreferenced blob not collected")

	stop()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	assert.NotContains(t, strings.ReplaceAll(stacks, "imagectl.TestControllerEndToEnd", ""), "davit/agent/imagectl.",
		"a controller goroutine outlived Run")
}
