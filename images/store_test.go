package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func digestBytes(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func openTestStore(t *testing.T) *FSStore {
	t.Helper()
	s, err := OpenFS(filepath.Join(t.TempDir(), "images"))
	require.NoError(t, err)
	return s
}

func TestFSStoreLifecycle(t *testing.T) {
	s := openTestStore(t)
	ctx := testCtx(t)
	data := randomBytes(t, 100<<10)
	b, err := s.Put(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, Blob{Digest: digestBytes(data), Size: int64(len(data))}, b)

	p, err := s.Path(b.Digest)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(s.Dir(), strings.TrimPrefix(b.Digest, "sha256:")), p)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(blobMode), fi.Mode().Perm())

	ok, err := s.Has(ctx, b.Digest)
	require.NoError(t, err)
	require.True(t, ok)
	st, err := s.Stat(ctx, b.Digest)
	require.NoError(t, err)
	require.Equal(t, b, st)
	rc, err := s.Open(ctx, b.Digest)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, data, got)
	require.NoError(t, s.Verify(ctx, b.Digest))

	// Same content again: same blob, no duplicate.
	b2, err := s.Put(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	require.Equal(t, b, b2)
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []Blob{b}, list)

	require.NoError(t, s.Delete(ctx, b.Digest))
	require.NoError(t, s.Delete(ctx, b.Digest), "deleting twice is fine")
	ok, err = s.Has(ctx, b.Digest)
	require.NoError(t, err)
	require.False(t, ok)
	_, err = s.Open(ctx, b.Digest)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.Stat(ctx, b.Digest)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestFSStoreRejectsBadDigests(t *testing.T) {
	s := openTestStore(t)
	ctx := testCtx(t)
	for _, d := range []string{"", "sha256:../../etc/passwd", "sha256:" + strings.Repeat("A", 64), "md5:" + strings.Repeat("a", 32), "sha256:" + strings.Repeat("g", 64)} {
		_, err := s.Open(ctx, d)
		require.ErrorIs(t, err, ErrInvalidDigest, d)
		require.ErrorIs(t, s.Delete(ctx, d), ErrInvalidDigest)
	}
}

// blockingReader returns some bytes, then blocks until its context ends.
type blockingReader struct {
	ctx  context.Context
	sent bool
	at   chan struct{}
}

func (r *blockingReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		close(r.at)
		return copy(p, "half an image"), nil
	}
	<-r.ctx.Done()
	return 0, r.ctx.Err()
}

func TestFSStorePutIsCrashSafe(t *testing.T) {
	s := openTestStore(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	r := &blockingReader{ctx: ctx, at: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := s.Put(ctx, r); done <- err }()
	<-r.at
	time.Sleep(20 * time.Millisecond) // let Put write the first bytes

	// Mid-write: only a temp file exists, nothing under a final name.
	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
	entries, err := os.ReadDir(s.Dir())
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.True(t, strings.HasPrefix(entries[0].Name(), tempPrefix))
	_, err = os.Stat(filepath.Join(s.Dir(), strings.TrimPrefix(digestBytes([]byte("half an image")), "sha256:")))
	require.ErrorIs(t, err, os.ErrNotExist)

	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	requireNoTempFiles(t, s.Dir())
}

func TestOpenFSRemovesStaleTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "images")
	s, err := OpenFS(dir)
	require.NoError(t, err)
	b, err := s.Put(testCtx(t), strings.NewReader("kept"))
	require.NoError(t, err)
	// A writer that crashed mid-Put leaves its temp file behind.
	f, err := s.CreateTemp()
	require.NoError(t, err)
	_, _ = f.WriteString("half")
	f.Close()

	s, err = OpenFS(dir)
	require.NoError(t, err)
	requireNoTempFiles(t, s.Dir())
	require.NoError(t, s.Verify(testCtx(t), b.Digest))
}

func TestFSStoreVerifyDetectsLoss(t *testing.T) {
	s := openTestStore(t)
	ctx := testCtx(t)
	b, err := s.Put(ctx, strings.NewReader("precious bytes"))
	require.NoError(t, err)
	p, _ := s.Path(b.Digest)

	require.NoError(t, os.Chmod(p, 0o644))
	require.NoError(t, os.WriteFile(p, []byte("precious bytez"), 0o644))
	err = s.Verify(ctx, b.Digest)
	require.ErrorIs(t, err, ErrImageLost)
	require.ErrorContains(t, err, "is corrupt (its content hashes to sha256:")

	require.NoError(t, os.Remove(p))
	err = s.Verify(ctx, b.Digest)
	require.ErrorIs(t, err, ErrImageLost)
	require.ErrorContains(t, err, "missing from the store")
}

func TestFSStoreAdopt(t *testing.T) {
	s := openTestStore(t)
	ctx := testCtx(t)
	f, err := s.CreateTemp()
	require.NoError(t, err)
	_, _ = f.WriteString("adopted")
	require.NoError(t, f.Close())
	b, err := s.Adopt(ctx, f.Name())
	require.NoError(t, err)
	require.Equal(t, digestBytes([]byte("adopted")), b.Digest)
	_, err = os.Stat(f.Name())
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, s.Verify(ctx, b.Digest))

	// A file elsewhere (possibly another filesystem) is moved in too.
	other := filepath.Join(t.TempDir(), "x")
	require.NoError(t, os.WriteFile(other, []byte("elsewhere"), 0o644))
	b, err = s.Adopt(ctx, other)
	require.NoError(t, err)
	require.NoError(t, s.Verify(ctx, b.Digest))
	requireNoTempFiles(t, s.Dir())
}
