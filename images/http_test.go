package images

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

func serveBytes(data []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}
}

func TestFetchDownloadsWithProgress(t *testing.T) {
	data := randomBytes(t, 1<<20)
	srv := httptest.NewServer(serveBytes(data))
	defer srv.Close()
	var (
		mu      sync.Mutex
		reports []Progress
	)
	var buf bytes.Buffer
	res, err := Fetch(testCtx(t), FetchConfig{
		URL: srv.URL + "/img", Checksums: sumsOf(data), ProgressInterval: time.Nanosecond,
		Progress: func(p Progress) { mu.Lock(); reports = append(reports, p); mu.Unlock() },
	}, &buf)
	require.NoError(t, err)
	require.Equal(t, data, buf.Bytes())
	require.Equal(t, int64(len(data)), res.Bytes)
	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	require.Equal(t, PhaseDownload, last.Phase)
	require.Equal(t, int64(len(data)), last.Done)
	require.Equal(t, int64(len(data)), last.Total)
	require.Equal(t, 100.0, last.Percent)
	require.Positive(t, last.AvgSpeed)
	require.InDelta(t, 90, last.Overall(), 0.001)
	for i := 1; i < len(reports); i++ {
		require.GreaterOrEqual(t, reports[i].Done, reports[i-1].Done)
	}
}

func TestFetchFollowsRedirects(t *testing.T) {
	data := randomBytes(t, 4096)
	mux := http.NewServeMux()
	mux.Handle("/a", http.RedirectHandler("/b", http.StatusFound))
	mux.Handle("/b", http.RedirectHandler("/images/x.img", http.StatusMovedPermanently))
	mux.Handle("/images/x.img", serveBytes(data))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var buf bytes.Buffer
	res, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/a"}, &buf)
	require.NoError(t, err)
	require.Equal(t, srv.URL+"/images/x.img", res.URL)
	require.Equal(t, data, buf.Bytes())
}

func TestFetchTLSWithCABundle(t *testing.T) {
	data := randomBytes(t, 4096)
	srv := httptest.NewTLSServer(serveBytes(data))
	defer srv.Close()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	for name, bundle := range map[string][]byte{"pem": caPEM, "base64": []byte(base64.StdEncoding.EncodeToString(caPEM))} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/x.img", CABundle: bundle}, &buf)
			require.NoError(t, err)
			require.Equal(t, data, buf.Bytes())
		})
	}

	t.Run("unknown CA", func(t *testing.T) {
		_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/x.img"}, io.Discard)
		require.ErrorIs(t, err, ErrTLS)
		require.ErrorContains(t, err, "unknown authority")
		require.ErrorContains(t, err, "set caBundle")
	})
	t.Run("plain http to a TLS port", func(t *testing.T) {
		_, err := Fetch(testCtx(t), FetchConfig{URL: strings.Replace(srv.URL, "https", "http", 1)}, io.Discard)
		require.Error(t, err) // the TLS server answers 400 to plain HTTP
	})
	t.Run("https to a plain port", func(t *testing.T) {
		plain := httptest.NewServer(serveBytes(data))
		defer plain.Close()
		_, err := Fetch(testCtx(t), FetchConfig{URL: strings.Replace(plain.URL, "http", "https", 1)}, io.Discard)
		require.ErrorIs(t, err, ErrTLS)
		require.ErrorContains(t, err, "did not answer with TLS")
	})
	t.Run("garbage bundle", func(t *testing.T) {
		_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL, CABundle: []byte("-----BEGIN nothing")}, io.Discard)
		require.ErrorContains(t, err, "no PEM certificate")
	})
}

func TestFetchStatusErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/missing.img"}, io.Discard)
	var se *HTTPStatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusNotFound, se.Code)
	require.ErrorContains(t, err, "answered 404 Not Found")
	require.ErrorContains(t, err, "/missing.img")
}

func TestFetchUnreachableHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	_, err = Fetch(testCtx(t), FetchConfig{URL: "http://" + addr + "/x.img"}, io.Discard)
	require.ErrorContains(t, err, "connect to "+addr)
	require.ErrorContains(t, err, "refused")

	_, err = Fetch(testCtx(t), FetchConfig{URL: "ftp://example/x.img"}, io.Discard)
	require.ErrorContains(t, err, "not an http or https URL")
}

func TestFetchStalls(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/headers" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(make([]byte, 10))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()

	start := time.Now()
	_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/body", StallTimeout: 300 * time.Millisecond}, io.Discard)
	require.ErrorIs(t, err, ErrStalled)
	require.ErrorContains(t, err, "no data for 300ms after 10 bytes")
	require.Less(t, time.Since(start), 5*time.Second)

	_, err = Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/headers", StallTimeout: 300 * time.Millisecond}, io.Discard)
	require.ErrorIs(t, err, ErrStalled)
	require.ErrorContains(t, err, "no response from")
}

// hijackServer answers with a Content-Length of total and sends only
// sent bytes before closing the connection.
func hijackServer(t *testing.T, total, sent int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n")
		_, _ = buf.WriteString("Content-Length: " + strconv.Itoa(total) + "\r\n\r\n")
		_, _ = buf.Write(make([]byte, sent))
		_ = buf.Flush()
	}))
}

func TestFetchBodyEndsEarly(t *testing.T) {
	srv := hijackServer(t, 1000, 100)
	defer srv.Close()
	_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL + "/x.img"}, io.Discard)
	require.ErrorIs(t, err, ErrEndedEarly)
	require.ErrorContains(t, err, "download ended early after 100 of 1000 bytes")
}

func TestFetchChecksumMismatchAndCap(t *testing.T) {
	data := randomBytes(t, 64<<10)
	srv := httptest.NewServer(serveBytes(data))
	defer srv.Close()
	_, err := Fetch(testCtx(t), FetchConfig{URL: srv.URL, Checksums: sumsOf([]byte("other"))}, io.Discard)
	require.ErrorIs(t, err, ErrChecksumMismatch)

	_, err = Fetch(testCtx(t), FetchConfig{URL: srv.URL, MaxBytes: 1000}, io.Discard)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestFetchCancelled(t *testing.T) {
	data := randomBytes(t, 4096)
	srv := httptest.NewServer(serveBytes(data))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Fetch(ctx, FetchConfig{URL: srv.URL}, io.Discard)
	require.ErrorIs(t, err, context.Canceled)
}
