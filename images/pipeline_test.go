package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// importEnv is a store and a separate temp dir, both checked for leftovers.
type importEnv struct {
	store *FSStore
	tmp   string
}

func newImportEnv(t *testing.T) *importEnv {
	t.Helper()
	needQemuImg(t)
	env := &importEnv{store: openTestStore(t), tmp: t.TempDir()}
	t.Cleanup(func() { requireNoTempFiles(t, env.store.Dir(), env.tmp) })
	return env
}

func (e *importEnv) importBytes(t *testing.T, data []byte, cfg ImportConfig) (Result, error) {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = e.tmp
	}
	return Import(testCtx(t), bytes.NewReader(data), cfg, e.store)
}

// requireStoredQcow2 checks that the blob is a sound qcow2 of size bytes.
func (e *importEnv) requireStoredQcow2(t *testing.T, res Result, virtualSize int64) {
	t.Helper()
	p, err := e.store.Path(res.Digest)
	require.NoError(t, err)
	info, err := Info(testCtx(t), p, FormatQCOW2)
	require.NoError(t, err)
	require.Equal(t, "qcow2", info.Format)
	require.Equal(t, virtualSize, info.VirtualSize)
	require.NoError(t, Check(testCtx(t), p, FormatQCOW2))
	require.NoError(t, e.store.Verify(testCtx(t), res.Digest))
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, fi.Size(), res.StoredBytes)
}

func TestImportRawConvertsToQcow2(t *testing.T) {
	env := newImportEnv(t)
	raw := readFile(t, rawImage(t, t.TempDir(), 16<<20))
	var (
		mu      sync.Mutex
		reports []Progress
	)
	res, err := env.importBytes(t, raw, ImportConfig{
		Checksums: sumsOf(raw), SourceSize: int64(len(raw)), ProgressInterval: time.Nanosecond,
		Progress: func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() },
	})
	require.NoError(t, err)
	require.Equal(t, FormatQCOW2, res.Format)
	require.Equal(t, FormatRaw, res.SourceFormat)
	require.False(t, res.CDROM)
	require.Equal(t, int64(16<<20), res.UnpackedBytes)
	require.Equal(t, int64(len(raw)), res.ReceivedBytes)
	require.Less(t, res.StoredBytes, res.UnpackedBytes, "zeros are not stored")
	env.requireStoredQcow2(t, res, 16<<20)

	var phases []Phase
	overall := -1.0
	for _, p := range reports {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		require.GreaterOrEqual(t, p.Overall(), overall, "progress never goes back")
		overall = p.Overall()
	}
	require.Equal(t, []Phase{PhaseDownload, PhaseConvert}, phases)
	require.Less(t, overall, 100.0)
	require.Equal(t, 100.0, reports[len(reports)-1].Percent)
}

func TestImportCompressedVariants(t *testing.T) {
	env := newImportEnv(t)
	raw := readFile(t, rawImage(t, t.TempDir(), 4<<20))
	var digest string
	for _, c := range []Compression{CompressionGzip, CompressionXZ, CompressionZstd, CompressionBzip2} {
		t.Run(string(c), func(t *testing.T) {
			packed := compress(t, c, raw)
			res, err := env.importBytes(t, packed, ImportConfig{Checksums: sumsOf(packed), MaxUnpacked: 4 << 20})
			require.NoError(t, err)
			require.Equal(t, c, res.Compression)
			require.Equal(t, FormatRaw, res.SourceFormat)
			require.Equal(t, int64(4<<20), res.UnpackedBytes)
			require.Equal(t, int64(len(packed)), res.ReceivedBytes)
			env.requireStoredQcow2(t, res, 4<<20)
			if digest != "" {
				require.Equal(t, digest, res.Digest, "same disk, same blob")
			}
			digest = res.Digest
		})
	}
}

func TestImportKeepsQcow2AndConvertsOtherFormats(t *testing.T) {
	env := newImportEnv(t)
	dir := t.TempDir()
	raw := rawImage(t, dir, 4<<20)
	q := readFile(t, convertImage(t, raw, "qcow2"))
	res, err := env.importBytes(t, q, ImportConfig{})
	require.NoError(t, err)
	require.Equal(t, FormatQCOW2, res.SourceFormat)
	require.Equal(t, digestBytes(q), res.Digest, "a sound qcow2 is stored as it came")

	for format, want := range map[string]Format{"vmdk": FormatVMDK, "vdi": FormatVDI, "vhdx": FormatVHDX, "vpc": FormatVHD} {
		t.Run(format, func(t *testing.T) {
			res, err := env.importBytes(t, readFile(t, convertImage(t, raw, format)), ImportConfig{})
			require.NoError(t, err)
			require.Equal(t, want, res.SourceFormat)
			require.Equal(t, FormatQCOW2, res.Format)
			p, _ := env.store.Path(res.Digest)
			info, err := Info(testCtx(t), p, FormatQCOW2)
			require.NoError(t, err)
			require.GreaterOrEqual(t, info.VirtualSize, int64(4<<20)) // vpc rounds up to its geometry
			require.Equal(t, info.VirtualSize, res.UnpackedBytes)
		})
	}
}

func TestImportISOKeptAsIs(t *testing.T) {
	env := newImportEnv(t)
	iso := readFile(t, isoImage(t, t.TempDir()))
	gz := compress(t, CompressionGzip, iso)
	res, err := env.importBytes(t, gz, ImportConfig{})
	require.NoError(t, err)
	require.True(t, res.CDROM)
	require.Equal(t, FormatISO, res.Format)
	require.Equal(t, digestBytes(iso), res.Digest)
	require.Equal(t, int64(len(iso)), res.StoredBytes)
	require.Equal(t, int64(len(iso)), res.UnpackedBytes)
}

func TestImportFailures(t *testing.T) {
	env := newImportEnv(t)
	dir := t.TempDir()
	raw := rawImage(t, dir, 4<<20)
	q := readFile(t, convertImage(t, raw, "qcow2"))
	backed := filepath.Join(dir, "backed.qcow2")
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", raw, backed)
	sparse := filepath.Join(dir, "sparse.qcow2") // a tiny file for a 64 MiB disk
	run(t, "qemu-img", "create", "-q", "-f", "qcow2", sparse, "64M")

	cases := map[string]struct {
		data []byte
		cfg  ImportConfig
		want error
		msg  string
	}{
		"truncated qcow2": {q[:len(q)/3], ImportConfig{}, ErrCorruptImage, "truncated or damaged"},
		"html page":       {[]byte("<!DOCTYPE html><html><title>404</title></html>"), ImportConfig{}, ErrHTMLPage, "the URL returned an HTML page, not a disk image"},
		"gzipped html":    {compress(t, CompressionGzip, []byte("<html><body>login</body></html>")), ImportConfig{}, ErrHTMLPage, "HTML page"},
		"zip bomb":        {compress(t, CompressionGzip, make([]byte, 32<<20)), ImportConfig{MaxUnpacked: 1 << 20}, ErrTooLarge, "limit of 1.0 MiB"},
		"virtual size":    {readFile(t, sparse), ImportConfig{MaxUnpacked: 1 << 20}, ErrTooLarge, "virtual size 64.0 MiB"},
		"checksum":        {q, ImportConfig{Checksums: sumsOf([]byte("other"))}, ErrChecksumMismatch, "sha256 expected"},
		"streebog":        {q, ImportConfig{Checksums: Checksums{Streebog512: string(bytes.Repeat([]byte("ab"), 64))}}, ErrUnsupportedChecksum, "not supported by this build"},
		"backing file":    {readFile(t, backed), ImportConfig{}, ErrUnsupportedFormat, "backing file"},
		"empty":           {nil, ImportConfig{}, ErrEmptyImage, "empty"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := env.importBytes(t, c.data, c.cfg)
			require.ErrorIs(t, err, c.want)
			require.ErrorContains(t, err, c.msg)
			list, lerr := env.store.List(testCtx(t))
			require.NoError(t, lerr)
			require.Empty(t, list, "nothing stored")
			requireNoTempFiles(t, env.store.Dir(), env.tmp)
		})
	}
}

func TestImportCancelledLeavesNothing(t *testing.T) {
	env := newImportEnv(t)
	ctx, cancel := context.WithCancel(testCtx(t))
	r := &blockingReader{ctx: ctx, at: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := Import(ctx, r, ImportConfig{}, env.store) // temp files in the store dir
		done <- err
	}()
	<-r.at
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	requireNoTempFiles(t, env.store.Dir())
}
