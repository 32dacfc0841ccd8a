package images

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// The way a controller chains a source into Import.
func TestImportFromHTTP(t *testing.T) {
	env := newImportEnv(t)
	raw := readFile(t, rawImage(t, t.TempDir(), 4<<20))
	xz := compress(t, CompressionXZ, raw)
	srv := httptest.NewServer(serveBytes(xz))
	defer srv.Close()

	ctx := testCtx(t)
	dl, err := OpenHTTP(ctx, FetchConfig{URL: srv.URL + "/disk.img.xz"})
	require.NoError(t, err)
	defer dl.Close()
	res, err := Import(ctx, dl, ImportConfig{SourceSize: dl.Size, Checksums: sumsOf(xz), TempDir: env.tmp}, env.store)
	require.NoError(t, err)
	require.Equal(t, CompressionXZ, res.Compression)
	env.requireStoredQcow2(t, res, 4<<20)
}

func TestImportFromHTTPEndingEarly(t *testing.T) {
	env := newImportEnv(t)
	srv := hijackServer(t, 1<<20, 100<<10)
	defer srv.Close()
	ctx := testCtx(t)
	dl, err := OpenHTTP(ctx, FetchConfig{URL: srv.URL})
	require.NoError(t, err)
	defer dl.Close()
	_, err = Import(ctx, dl, ImportConfig{SourceSize: dl.Size, TempDir: env.tmp}, env.store)
	require.ErrorIs(t, err, ErrEndedEarly)
	require.ErrorContains(t, err, "download ended early after 102400 of 1048576 bytes")
}

func TestImportFromRegistry(t *testing.T) {
	env := newImportEnv(t)
	dir := t.TempDir()
	q := readFile(t, convertImage(t, rawImage(t, dir, 4<<20), "qcow2"))
	host := testRegistry(t, "", "")
	ref := host + "/images/disk:latest"
	pushImage(t, ref, nil, map[string][]byte{"disk/x.img": q})

	ctx := testCtx(t)
	d, err := OpenRegistry(ctx, RegistryConfig{Image: ref, Insecure: true})
	require.NoError(t, err)
	defer d.Close()
	res, err := Import(ctx, d, ImportConfig{SourceSize: d.Size, TempDir: env.tmp}, env.store)
	require.NoError(t, err)
	require.Equal(t, digestBytes(q), res.Digest)
	rc, err := env.store.OpenFile(res.Digest)
	require.NoError(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	require.NoError(t, err)
	require.Equal(t, q, buf.Bytes())
}
