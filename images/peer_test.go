package images

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// cuttingWriter passes at most limit bytes of the body, then drops the
// connection the way a dying peer would.
type cuttingWriter struct {
	http.ResponseWriter
	limit int
}

func (c *cuttingWriter) Write(p []byte) (int, error) {
	if len(p) <= c.limit {
		c.limit -= len(p)
		return c.ResponseWriter.Write(p)
	}
	_, _ = c.ResponseWriter.Write(p[:c.limit])
	c.ResponseWriter.(http.Flusher).Flush()
	panic(http.ErrAbortHandler) // closes the connection mid-body
}

// peerServer serves store's blobs under /blobs/, cutting the first
// responses after the given numbers of bytes, and records Range headers.
type peerServer struct {
	*httptest.Server
	mu     sync.Mutex
	cuts   []int
	ranges []string
}

func newPeerServer(t *testing.T, store Store, cuts ...int) *peerServer {
	ps := &peerServer{cuts: cuts}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.mu.Lock()
		ps.ranges = append(ps.ranges, r.Header.Get("Range"))
		var cut = -1
		if len(ps.cuts) > 0 {
			cut, ps.cuts = ps.cuts[0], ps.cuts[1:]
		}
		ps.mu.Unlock()
		if cut >= 0 {
			w = &cuttingWriter{ResponseWriter: w, limit: cut}
		}
		ServeBlob(w, r, store)
	}))
	t.Cleanup(ps.Close)
	return ps
}

func TestFetchFromPeerResumesAfterCuts(t *testing.T) {
	ctx := testCtx(t)
	src, dst := openTestStore(t), openTestStore(t)
	data := randomBytes(t, 1<<20)
	b, err := src.Put(ctx, bytes.NewReader(data))
	require.NoError(t, err)
	ps := newPeerServer(t, src, 300<<10, 200<<10)

	got, err := FetchFromPeer(ctx, ps.Client(), ps.URL+"/blobs", b.Digest, dst)
	require.NoError(t, err)
	require.Equal(t, b, got)
	require.NoError(t, dst.Verify(ctx, b.Digest))
	require.Equal(t, []string{"", "bytes=307200-", "bytes=512000-"}, ps.ranges)
	requireNoTempFiles(t, dst.Dir())

	// Already there: no request at all.
	_, err = FetchFromPeer(ctx, ps.Client(), ps.URL+"/blobs", b.Digest, dst)
	require.NoError(t, err)
	require.Len(t, ps.ranges, 3)
}

func TestFetchFromPeerRejectsWrongContent(t *testing.T) {
	ctx := testCtx(t)
	dst := openTestStore(t)
	want := digestBytes([]byte("the real image"))
	srv := httptest.NewServer(serveBytes([]byte("something else")))
	defer srv.Close()
	_, err := FetchFromPeer(ctx, srv.Client(), srv.URL, want, dst)
	require.ErrorIs(t, err, ErrDigestMismatch)
	require.ErrorContains(t, err, "asked for "+want)
	ok, _ := dst.Has(ctx, want)
	require.False(t, ok)
	requireNoTempFiles(t, dst.Dir())
}

func TestFetchFromPeerMissingBlob(t *testing.T) {
	ctx := testCtx(t)
	src, dst := openTestStore(t), openTestStore(t)
	ps := newPeerServer(t, src)
	_, err := FetchFromPeer(ctx, ps.Client(), ps.URL+"/blobs/", digestBytes([]byte("x")), dst)
	require.ErrorIs(t, err, ErrNotFound)
	require.Len(t, ps.ranges, 1, "a 404 is not retried")
	requireNoTempFiles(t, dst.Dir())
}

func TestFetchFromPeerGivesUpWithoutProgress(t *testing.T) {
	ctx := testCtx(t)
	src, dst := openTestStore(t), openTestStore(t)
	b, err := src.Put(ctx, strings.NewReader("never arrives"))
	require.NoError(t, err)
	ps := newPeerServer(t, src, 0, 0, 0, 0, 0, 0)
	_, err = FetchFromPeer(ctx, ps.Client(), ps.URL, b.Digest, dst)
	require.ErrorContains(t, err, "gave up after 5 attempts without progress")
	requireNoTempFiles(t, dst.Dir())
}

// plainStore hides FSStore's file methods: the path an OCI-backed store
// would take.
type plainStore struct{ Store }

func TestFetchFromPeerIntoPlainStore(t *testing.T) {
	ctx := testCtx(t)
	src, dst := openTestStore(t), openTestStore(t)
	b, err := src.Put(ctx, strings.NewReader("via Put"))
	require.NoError(t, err)
	ps := newPeerServer(t, src, 3)
	_, err = FetchFromPeer(ctx, ps.Client(), ps.URL, b.Digest, plainStore{dst})
	require.NoError(t, err)
	require.NoError(t, dst.Verify(ctx, b.Digest))
}

func TestServeBlob(t *testing.T) {
	ctx := testCtx(t)
	s := openTestStore(t)
	b, err := s.Put(ctx, strings.NewReader("0123456789"))
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ServeBlob(w, r, s) }))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/blobs/"+b.Digest, nil)
	req.Header.Set("Range", "bytes=4-")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, "456789", string(body))
	require.Equal(t, "bytes 4-9/10", resp.Header.Get("Content-Range"))
	require.Equal(t, `"`+b.Digest+`"`, resp.Header.Get("ETag"))

	for path, code := range map[string]int{
		"/v1/blobs/" + digestBytes([]byte("none")): http.StatusNotFound,
		"/v1/blobs/sha256:nothex":                  http.StatusBadRequest,
	} {
		resp, err := srv.Client().Get(srv.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, code, resp.StatusCode, path)
	}
	resp, err = srv.Client().Post(srv.URL+"/v1/blobs/"+b.Digest, "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
