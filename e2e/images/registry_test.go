package e2eimages

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/api"
	"davit/e2e"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Guide row 6: a ClusterVirtualImage from an image built FROM scratch with
// COPY x.img /disk/x.img, in go-containerregistry's in-process registry
// (behind basic auth, with an imagePullSecret) and in Debian's
// docker-registry.
func TestContainerImage(t *testing.T) {
	t.Parallel()
	dir := fixtures(t)
	a := startAgent(t, "")
	reg := httptest.NewServer(basicAuth("davit", "s3cret", registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	push(t, host+"/images/ubuntu2204:latest", diskImage(t, "disk/ubuntu2204.img", filepath.Join(dir, fileQCOW2)),
		&authn.Basic{Username: "davit", Password: "s3cret"})
	push(t, host+"/images/nodisk:latest", diskImage(t, "etc/motd", filepath.Join(dir, fileHTML)),
		&authn.Basic{Username: "davit", Password: "s3cret"})

	// The secret does not exist yet: Pending, saying so.
	apply(t, a, cviYAML("ubuntu-2204", fmt.Sprintf("    type: ContainerImage\n    containerImage:\n      image: %s\n"+
		"      imagePullSecret:\n        name: regcred\n        namespace: default\n", host+"/images/ubuntu2204:latest")))
	require.Eventually(t, func() bool {
		st, _ := image(t, a.URL(), "clustervirtualimages", "ubuntu-2204")
		c := api.FindCondition(st.Conditions, "DatasourceReady")
		return st.Phase == api.ImagePending && c != nil && c.Reason == "ContainerRegistrySecretNotFound"
	}, 20*time.Second, 100*time.Millisecond)
	auth := base64.StdEncoding.EncodeToString([]byte("davit:s3cret"))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	apply(t, a, fmt.Sprintf(`apiVersion: davit/v1
kind: Secret
metadata:
  name: regcred
  namespace: default
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: %s
`, base64.StdEncoding.EncodeToString([]byte(cfg))))
	st := waitPhase(t, a, "ubuntu-2204", api.ImageReady, 30*time.Second)
	assert.Equal(t, "qcow2", st.Format)
	assert.Equal(t, fmt.Sprint(rawSize), st.Size.UnpackedBytes)

	apply(t, a, cviYAML("nodisk", fmt.Sprintf("    type: ContainerImage\n    containerImage:\n      image: %s\n"+
		"      imagePullSecret:\n        name: regcred\n        namespace: default\n", host+"/images/nodisk:latest")))
	cond := readyCond(t, waitPhase(t, a, "nodisk", api.ImageFailed, 30*time.Second))
	assert.Contains(t, cond.Message, "no file under /disk/")
	assert.Contains(t, cond.Message, "COPY x.img /disk/x.img")

	t.Run("docker-registry", func(t *testing.T) {
		host := startDockerRegistry(t)
		push(t, host+"/davit/ubuntu2204:latest", diskImage(t, "disk/ubuntu2204.img", filepath.Join(dir, fileRaw)), nil)
		apply(t, a, cviYAML("from-docker-registry", fmt.Sprintf(
			"    type: ContainerImage\n    containerImage:\n      image: %s\n", host+"/davit/ubuntu2204:latest")))
		st := waitPhase(t, a, "from-docker-registry", api.ImageReady, 60*time.Second)
		assert.Equal(t, "qcow2", st.Format)
		assert.Equal(t, fmt.Sprint(rawSize), st.Size.UnpackedBytes)
	})
	noTempFiles(t, a.DataDir)
}

// diskImage is an OCI image with one layer holding file at path (the
// result of `FROM scratch` + `COPY`).
func diskImage(t *testing.T, path, file string) v1.Image {
	t.Helper()
	content, err := os.ReadFile(file)
	require.NoError(t, err)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: filepath.Dir(path) + "/", Typeflag: tar.TypeDir, Mode: 0o755}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: path, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}))
	_, err = tw.Write(content)
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	require.NoError(t, err)
	img, err := mutate.AppendLayers(empty.Image, layer)
	require.NoError(t, err)
	return img
}

func push(t *testing.T, ref string, img v1.Image, auth authn.Authenticator) {
	t.Helper()
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	opts := []remote.Option{}
	if auth != nil {
		opts = append(opts, remote.WithAuth(auth))
	}
	require.NoError(t, remote.Write(r, img, opts...))
}

// basicAuth puts HTTP basic authentication in front of a registry, as a
// private registry would.
func basicAuth(user, pass string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="davit-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startDockerRegistry runs Debian's docker-registry on a loopback port
// and returns its host:port.
func startDockerRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (make deps installs it)")
	}
	dir := t.TempDir()
	addr := e2e.FreeAddr(t)
	cfg := filepath.Join(dir, "config.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)), 0o644))
	cmd := exec.Command(bin, "serve", cfg)
	var logs e2e.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("docker-registry exited: %s", logs.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return addr
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("docker-registry did not listen on %s: %s", addr, logs.String())
	return ""
}
