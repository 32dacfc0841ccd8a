package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz"
)

// TestMain fails the run when a goroutine started by this package's
// non-test code outlives the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(3 * time.Second); leaked != "" {
			os.Stderr.WriteString("leaked goroutines:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "leakedGoroutines") {
				continue
			}
			for _, line := range strings.Split(g, "\n") {
				if strings.Contains(line, "/images/") && strings.Contains(line, ".go:") && !strings.Contains(line, "_test.go:") {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func needQemuImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (apt-get install qemu-utils)")
	}
}

func needTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install %s)", name, pkg)
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
}

// rawImage writes a raw disk of size bytes: random data in the first
// MiB, zeros after it (so conversion has something to skip).
func rawImage(t *testing.T, dir string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, "disk.raw")
	data := make([]byte, min(size, 1<<20))
	_, _ = rand.Read(data)
	copy(data, "\xeb\x63\x90davit-test-disk") // an MBR-like start, not a magic
	require.NoError(t, os.WriteFile(p, data, 0o644))
	require.NoError(t, os.Truncate(p, size))
	return p
}

// convertImage makes a copy of a raw image in another format with qemu-img.
func convertImage(t *testing.T, raw, format string, opts ...string) string {
	t.Helper()
	p := strings.TrimSuffix(raw, filepath.Ext(raw)) + "." + format
	args := append([]string{"convert", "-f", "raw", "-O", format}, opts...)
	run(t, "qemu-img", append(args, raw, p)...)
	return p
}

// isoImage builds a small ISO 9660 image with xorriso.
func isoImage(t *testing.T, dir string) string {
	t.Helper()
	needTool(t, "xorriso", "xorriso")
	content := filepath.Join(dir, "iso-root")
	require.NoError(t, os.MkdirAll(content, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(content, "hello.txt"), bytes.Repeat([]byte("davit\n"), 1000), 0o644))
	p := filepath.Join(dir, "test.iso")
	run(t, "xorriso", "-as", "mkisofs", "-quiet", "-V", "DAVIT", "-o", p, content)
	return p
}

func compress(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case CompressionGzip:
		w := gzip.NewWriter(&buf)
		_, err := w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case CompressionXZ:
		w, err := xz.NewWriter(&buf)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case CompressionZstd:
		w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case CompressionBzip2:
		// The standard library only decompresses bzip2.
		needTool(t, "bzip2", "bzip2")
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		require.NoError(t, err)
		return out
	default:
		return data
	}
	return buf.Bytes()
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return b
}

// requireNoTempFiles fails when a work file is left in any of dirs.
func requireNoTempFiles(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		for _, e := range entries {
			n := e.Name()
			require.False(t, strings.HasPrefix(n, tempPrefix) || strings.HasPrefix(n, "davit-image-"), "temp file %s left in %s", n, d)
		}
	}
}
