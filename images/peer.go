package images

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

const (
	// peerAttempts is how many requests in a row may fail without
	// bringing a new byte before FetchFromPeer gives up.
	peerAttempts   = 5
	peerBackoff    = 100 * time.Millisecond
	peerMaxBackoff = 2 * time.Second
)

// ServeBlob answers GET and HEAD for the blob whose digest is the last
// element of the request path (".../sha256:<hex>"), with Range support,
// so that FetchFromPeer on another node can resume a cut transfer.
func ServeBlob(w http.ResponseWriter, r *http.Request, store Store) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	digest := path.Base(r.URL.Path)
	if _, err := ParseDigest(digest); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc, err := store.Open(r.Context(), digest)
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"`+digest+`"`)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, rc)
}

// FetchFromPeer copies the blob digest from the peer serving ServeBlob at
// baseURL (the blob is at baseURL + "/" + digest) into store. A connection
// cut midway is resumed with a Range request from the bytes already
// received; the whole content is checked against digest (ErrDigestMismatch)
// before it is committed. A blob already in store is not fetched again.
func FetchFromPeer(ctx context.Context, client *http.Client, baseURL, digest string, store Store) (Blob, error) {
	if _, err := ParseDigest(digest); err != nil {
		return Blob{}, fmt.Errorf("fetch blob from peer: %w", err)
	}
	if b, err := store.Stat(ctx, digest); err == nil {
		return b, nil
	}
	if client == nil {
		client = &http.Client{}
	}
	f, err := createTempFor(store)
	if err != nil {
		return Blob{}, fmt.Errorf("fetch blob from peer: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // gone already once adopted
	}()
	t := &peerTransfer{client: client, url: strings.TrimSuffix(baseURL, "/") + "/" + digest, f: f, h: sha256.New(), size: -1}
	if err := t.run(ctx); err != nil {
		return Blob{}, fmt.Errorf("fetch blob %s from peer %s: %w", digest, baseURL, err)
	}
	if got := digestOf(t.h.Sum(nil)); got != digest {
		return Blob{}, fmt.Errorf("fetch blob from peer %s: %w: asked for %s, received bytes hash to %s", baseURL, ErrDigestMismatch, digest, got)
	}
	if err := closeDurably(f); err != nil {
		return Blob{}, fmt.Errorf("fetch blob from peer: %w", err)
	}
	b, err := commitTemp(ctx, store, f.Name())
	if err != nil {
		return Blob{}, fmt.Errorf("fetch blob from peer: %w", err)
	}
	return b, nil
}

// peerTransfer is one blob download into a temp file, resumable.
type peerTransfer struct {
	client  *http.Client
	url     string
	f       *os.File
	h       hash.Hash
	written int64
	size    int64 // -1 until a response said
}

func (t *peerTransfer) run(ctx context.Context) error {
	backoff := peerBackoff
	var lastErr error
	for failures := 0; failures < peerAttempts; {
		before := t.written
		done, err := t.attempt(ctx)
		if done {
			return nil
		}
		var permanent *permanentError
		if errors.As(err, &permanent) || ctx.Err() != nil {
			return err
		}
		lastErr = err
		if t.written > before { // progress: the next cut gets a fresh budget
			failures, backoff = 0, peerBackoff
		}
		failures++
		if err := sleepContext(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, peerMaxBackoff)
	}
	return fmt.Errorf("gave up after %d attempts without progress (%d of %d bytes): %w", peerAttempts, t.written, t.size, lastErr)
}

// attempt requests the rest of the blob and appends it to the file.
func (t *peerTransfer) attempt(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return false, &permanentError{err}
	}
	if t.written > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", t.written))
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if err := t.restart(); err != nil {
			return false, &permanentError{err}
		}
		t.size = resp.ContentLength
	case http.StatusPartialContent:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != t.written {
			return false, &permanentError{fmt.Errorf("peer answered range %q to a request from byte %d", resp.Header.Get("Content-Range"), t.written)}
		}
		t.size = total
	case http.StatusRequestedRangeNotSatisfiable:
		if t.size >= 0 && t.written == t.size {
			return true, nil // everything was already here
		}
		return false, &permanentError{fmt.Errorf("peer refused range from byte %d", t.written)}
	case http.StatusNotFound:
		return false, &permanentError{fmt.Errorf("%w on the peer", ErrNotFound)}
	default:
		err := &HTTPStatusError{URL: t.url, Code: resp.StatusCode, Status: resp.Status}
		if resp.StatusCode < 500 {
			return false, &permanentError{err}
		}
		return false, err
	}
	n, err := io.Copy(io.MultiWriter(t.f, t.h), resp.Body)
	t.written += n
	if err != nil {
		return false, fmt.Errorf("read body: %w", err)
	}
	if t.size >= 0 && t.written != t.size {
		return false, fmt.Errorf("%w after %d of %d bytes", ErrEndedEarly, t.written, t.size)
	}
	return true, nil
}

// restart throws away what was received: the peer sent the whole blob.
func (t *peerTransfer) restart() error {
	if t.written == 0 {
		return nil
	}
	if err := t.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate temp file: %w", err)
	}
	if _, err := t.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind temp file: %w", err)
	}
	t.h.Reset()
	t.written = 0
	return nil
}

// permanentError marks an attempt's failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(v string) (start, total int64, err error) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	rng, tot, ok2 := strings.Cut(spec, "/")
	first, _, ok3 := strings.Cut(rng, "-")
	if !ok || !ok2 || !ok3 {
		return 0, 0, fmt.Errorf("parse Content-Range %q", v)
	}
	if start, err = strconv.ParseInt(first, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parse Content-Range %q: %w", v, err)
	}
	if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("parse Content-Range %q: %w", v, err)
	}
	return start, total, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
