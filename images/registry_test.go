package images

import (
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/require"
)

// testRegistry is go-containerregistry's in-process registry, optionally
// behind basic auth.
func testRegistry(t *testing.T, user, pass string) string {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	h := reg
	if user != "" {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			reg.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// pushImage pushes an image made of one layer per filemap, bottom first.
func pushImage(t *testing.T, ref string, opts []remote.Option, layers ...map[string][]byte) {
	t.Helper()
	var img v1.Image = empty.Image
	for _, files := range layers {
		l, err := crane.Layer(files)
		require.NoError(t, err)
		img, err = mutate.AppendLayers(img, l)
		require.NoError(t, err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img, opts...))
}

func readDisk(t *testing.T, cfg RegistryConfig) (*RegistryDisk, []byte, error) {
	t.Helper()
	d, err := OpenRegistry(testCtx(t), cfg)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	data, err := io.ReadAll(d)
	return d, data, err
}

func TestOpenRegistryReadsDiskFile(t *testing.T) {
	host := testRegistry(t, "", "")
	data := randomBytes(t, 256<<10)
	ref := host + "/images/ubuntu:22.04"
	pushImage(t, ref, nil, map[string][]byte{"disk/x.img": data})

	d, got, err := readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.NoError(t, err)
	require.Equal(t, data, got)
	require.Equal(t, "disk/x.img", d.Path)
	require.Equal(t, int64(len(data)), d.Size)
	require.True(t, strings.HasPrefix(d.ImageDigest, "sha256:"))
}

func TestOpenRegistryLastLayerWins(t *testing.T) {
	host := testRegistry(t, "", "")
	ref := host + "/images/layered"
	pushImage(t, ref, nil,
		map[string][]byte{"disk/old.img": []byte("old"), "etc/hostname": []byte("x")},
		map[string][]byte{"disk/.wh.old.img": nil, "disk/new.img": []byte("new")},
	)
	d, got, err := readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.NoError(t, err)
	require.Equal(t, "disk/new.img", d.Path)
	require.Equal(t, []byte("new"), got)

	// An upper file replaces a lower one of the same name.
	ref = host + "/images/replaced"
	pushImage(t, ref, nil,
		map[string][]byte{"disk/x.img": []byte("first")},
		map[string][]byte{"disk/x.img": []byte("second")},
	)
	_, got, err = readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.NoError(t, err)
	require.Equal(t, []byte("second"), got)
}

func TestOpenRegistryWithoutDiskFile(t *testing.T) {
	host := testRegistry(t, "", "")
	ref := host + "/images/nodisk:v1"
	pushImage(t, ref, nil, map[string][]byte{"x.img": []byte("not under disk")})
	_, _, err := readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.ErrorIs(t, err, ErrNoDiskFile)
	require.ErrorContains(t, err, "image "+ref+" has no file under /disk/")

	// A disk file deleted by an upper layer does not count.
	ref = host + "/images/deleted"
	pushImage(t, ref, nil, map[string][]byte{"disk/x.img": []byte("x")}, map[string][]byte{"disk/.wh.x.img": nil})
	_, _, err = readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.ErrorIs(t, err, ErrNoDiskFile)
}

func TestOpenRegistryTwoDiskFiles(t *testing.T) {
	host := testRegistry(t, "", "")
	ref := host + "/images/two"
	pushImage(t, ref, nil, map[string][]byte{"disk/a.img": []byte("a"), "disk/b.img": []byte("b")})
	_, _, err := readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.ErrorContains(t, err, "more than one file under /disk/")
}

func TestOpenRegistryAuth(t *testing.T) {
	host := testRegistry(t, "alice", "s3cret")
	ref := host + "/private/img:1"
	pushImage(t, ref, []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})}, map[string][]byte{"disk/x.img": []byte("private")})

	_, got, err := readDisk(t, RegistryConfig{Image: ref, Insecure: true, Username: "alice", Password: "s3cret"})
	require.NoError(t, err)
	require.Equal(t, []byte("private"), got)

	_, _, err = readDisk(t, RegistryConfig{Image: ref, Insecure: true, Username: "alice", Password: "wrong"})
	require.ErrorContains(t, err, "refused access; check imagePullSecret")
	_, _, err = readDisk(t, RegistryConfig{Image: ref, Insecure: true})
	require.ErrorContains(t, err, "refused access")
}

func TestOpenRegistryMissingImage(t *testing.T) {
	host := testRegistry(t, "", "")
	_, _, err := readDisk(t, RegistryConfig{Image: host + "/nothing/here:latest", Insecure: true})
	require.ErrorContains(t, err, "not found in the registry")

	_, _, err = readDisk(t, RegistryConfig{Image: "UPPER/case:::", Insecure: true})
	require.ErrorContains(t, err, "parse image reference")
}

func TestDockerConfigAuth(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	cfg := []byte(`{"auths":{
		"https://index.docker.io/v1/":{"auth":"` + auth + `"},
		"registry.example.com:5000":{"username":"carol","password":"pw"}}}`)
	u, p, err := DockerConfigAuth(cfg, "ubuntu:22.04")
	require.NoError(t, err)
	require.Equal(t, "bob", u)
	require.Equal(t, "pa:ss", p)
	u, p, err = DockerConfigAuth(cfg, "registry.example.com:5000/team/img")
	require.NoError(t, err)
	require.Equal(t, []string{"carol", "pw"}, []string{u, p})
	u, p, err = DockerConfigAuth(cfg, "other.example.com/img")
	require.NoError(t, err)
	require.Empty(t, u+p)
	_, _, err = DockerConfigAuth([]byte("{"), "ubuntu")
	require.ErrorContains(t, err, "parse docker config")
}
