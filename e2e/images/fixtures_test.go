package e2eimages

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Fixture files, made once per test binary by real tools.
const (
	rawSize   = 16 << 20 // disk.raw: 16 MiB, the first 4 MiB random
	fileQCOW2 = "disk.qcow2"
	fileRaw   = "disk.raw"
	fileISO   = "disk.iso"
	fileGz    = "disk.raw.gz"
	fileXz    = "disk.qcow2.xz"
	fileBz2   = "disk.raw.bz2"
	fileTrunc = "truncated.qcow2"
	fileBomb  = "bomb.raw.gz" // 256 MiB of zeros, gzipped
	fileHTML  = "page.html"
	fileSmall = "small.qcow2" // 1 MiB virtual, for uploads
)

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureErr  error
)

// fixtures returns the directory of the fixture files, building them the
// first time. Tests skip when a tool is missing.
func fixtures(t testing.TB) string {
	t.Helper()
	for _, tool := range []string{"qemu-img", "xorriso", "gzip", "xz", "bzip2"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (make deps)", tool)
		}
	}
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "davit-image-fixtures-")
		if fixtureErr == nil {
			fixtureErr = buildFixtures(fixtureDir)
		}
	})
	if fixtureErr != nil {
		t.Fatalf("build fixtures: %v", fixtureErr)
	}
	return fixtureDir
}

func buildFixtures(dir string) error {
	p := func(n string) string { return filepath.Join(dir, n) }
	data := make([]byte, 4<<20)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	if err := os.WriteFile(p(fileRaw), data, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(p(fileRaw), rawSize); err != nil {
		return err
	}
	if err := os.MkdirAll(p("iso"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p("iso/README.TXT"), bytes.Repeat([]byte("davit iso\n"), 1000), 0o644); err != nil {
		return err
	}
	steps := [][]string{
		{"qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", p(fileRaw), p(fileQCOW2)},
		{"qemu-img", "create", "-q", "-f", "qcow2", p(fileSmall), "1M"},
		{"xorriso", "-as", "mkisofs", "-quiet", "-V", "DAVIT", "-o", p(fileISO), p("iso")},
		{"sh", "-c", fmt.Sprintf("gzip -c %s > %s", p(fileRaw), p(fileGz))},
		{"sh", "-c", fmt.Sprintf("xz -T1 -c %s > %s", p(fileQCOW2), p(fileXz))},
		{"sh", "-c", fmt.Sprintf("bzip2 -c %s > %s", p(fileRaw), p(fileBz2))},
	}
	for _, s := range steps {
		if out, err := exec.Command(s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %w: %s", s, err, out)
		}
	}
	if err := truncateCopy(p(fileQCOW2), p(fileTrunc)); err != nil {
		return err
	}
	if err := writeBomb(p(fileBomb), 256<<20); err != nil {
		return err
	}
	return os.WriteFile(p(fileHTML), []byte("<!DOCTYPE html>\n<html><body>Sign in to download</body></html>\n"), 0o644)
}

// truncateCopy writes the first half of src: a qcow2 cut in the middle of
// its data clusters.
func truncateCopy(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b[:len(b)/2], 0o644)
}

// writeBomb gzips n zero bytes: tiny on the wire, huge unpacked.
func writeBomb(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(zw, zeroReader{}, n); err != nil {
		return err
	}
	return zw.Close()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// source is the test's image server: real files with the behaviours of
// real servers, good and bad.
//
//	/files/NAME     the file (Content-Length, Range)
//	/slow/NAME      the file, spread over about 3 seconds
//	/stall/NAME     64 KiB of the file, then nothing until the client leaves
//	/early/NAME     half of the file, then the connection closes
//	/redirect/NAME  302 to /files/NAME
type source struct {
	dir   string
	plain *httptest.Server
	tls   *httptest.Server
}

func newSource(t testing.TB) *source {
	t.Helper()
	s := &source{dir: fixtures(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(s.dir, filepath.Base(r.PathValue("name"))))
	})
	mux.HandleFunc("GET /slow/{name}", s.slow)
	mux.HandleFunc("GET /stall/{name}", s.stall)
	mux.HandleFunc("GET /early/{name}", s.early)
	mux.HandleFunc("GET /redirect/{name}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/files/"+r.PathValue("name"), http.StatusFound)
	})
	s.plain = httptest.NewServer(mux)
	s.tls = httptest.NewTLSServer(mux)
	t.Cleanup(func() {
		s.plain.CloseClientConnections()
		s.tls.CloseClientConnections()
		s.plain.Close()
		s.tls.Close()
	})
	return s
}

// URL is the plain-HTTP URL of a path ("/files/disk.raw").
func (s *source) URL(path string) string { return s.plain.URL + path }

// TLSURL is the HTTPS URL of a path, signed by the test's own CA.
func (s *source) TLSURL(path string) string { return s.tls.URL + path }

// CABundle is the TLS server's certificate, as a resource's caBundle.
func (s *source) CABundle() string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
	return base64.StdEncoding.EncodeToString(p)
}

func (s *source) open(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.Base(r.PathValue("name"))))
	if err != nil {
		http.NotFound(w, r)
		return nil, false
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.Header().Set("Content-Type", "application/octet-stream")
	return b, true
}

func (s *source) slow(w http.ResponseWriter, r *http.Request) {
	b, ok := s.open(w, r)
	if !ok {
		return
	}
	const chunk = 64 << 10
	pause := 3 * time.Second / time.Duration(len(b)/chunk+1)
	for off := 0; off < len(b); off += chunk {
		if _, err := w.Write(b[off:min(off+chunk, len(b))]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(pause):
		}
	}
}

func (s *source) stall(w http.ResponseWriter, r *http.Request) {
	b, ok := s.open(w, r)
	if !ok {
		return
	}
	_, _ = w.Write(b[:64<<10])
	w.(http.Flusher).Flush()
	select {
	case <-r.Context().Done():
	case <-time.After(60 * time.Second):
	}
}

func (s *source) early(w http.ResponseWriter, r *http.Request) {
	b, ok := s.open(w, r)
	if !ok {
		return
	}
	_, _ = w.Write(b[:len(b)/2])
}
