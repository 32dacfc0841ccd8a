package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// DefaultStallTimeout is how long a download may go without a byte.
const DefaultStallTimeout = 2 * time.Minute

// FetchConfig says what to download and how.
type FetchConfig struct {
	URL string
	// CABundle is PEM (or base64 of PEM) trusted in addition to the
	// system roots.
	CABundle []byte
	// Checksums of the bytes as served (Fetch only; Import checks its own).
	Checksums Checksums
	// MaxBytes caps the bytes downloaded (Fetch only); 0 means no cap.
	MaxBytes int64
	// StallTimeout fails the download when no byte (or no response
	// header) arrives for this long; 0 means DefaultStallTimeout.
	StallTimeout time.Duration
	// Progress, if set, receives download reports (Fetch only).
	Progress func(Progress)
	// ProgressInterval bounds how often Progress is called; 0 means
	// DefaultProgressInterval.
	ProgressInterval time.Duration
	// UserAgent is sent with the request; empty means "davit".
	UserAgent string
}

// FetchResult describes a finished download.
type FetchResult struct {
	URL   string // after redirects
	Bytes int64
}

// Fetch downloads cfg.URL into dst, verifying cfg.Checksums over the bytes
// received and reporting progress. Errors match ErrStalled, ErrEndedEarly,
// ErrTLS, ErrChecksumMismatch, ErrTooLarge or *HTTPStatusError.
func Fetch(ctx context.Context, cfg FetchConfig, dst io.Writer) (FetchResult, error) {
	v, err := NewVerifier(cfg.Checksums)
	if err != nil {
		return FetchResult{}, err
	}
	d, err := OpenHTTP(ctx, cfg)
	if err != nil {
		return FetchResult{}, err
	}
	defer d.Close()
	m := newMeter(d, d.Size, cfg.Progress, cfg.ProgressInterval)
	n, err := io.Copy(io.MultiWriter(dst, v), LimitUnpacked(m, cfg.MaxBytes))
	m.finish()
	res := FetchResult{URL: d.URL, Bytes: n}
	if err != nil {
		return res, fmt.Errorf("fetch %s: %w", cfg.URL, err)
	}
	return res, v.Verify()
}

// Download is an open HTTP response body. Read fails with ErrStalled when
// no byte arrives for the stall timeout and with ErrEndedEarly when the
// connection ends before Content-Length bytes. Close it.
type Download struct {
	// URL is the final URL, after redirects.
	URL string
	// Size is the Content-Length, or -1 when the server did not send one.
	Size int64

	body      io.ReadCloser
	transport *http.Transport
	cancel    context.CancelCauseFunc
	ctx       context.Context
	stall     time.Duration
	timer     *time.Timer
	done      int64
	closeOnce sync.Once
}

// OpenHTTP sends the GET for cfg.URL (following redirects) and returns the
// body once a 2xx status arrived.
func OpenHTTP(ctx context.Context, cfg FetchConfig) (*Download, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("fetch %q: not an http or https URL", cfg.URL)
	}
	stall := cfg.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	tr, err := newTransport(cfg.CABundle, false, stall)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", cfg.URL, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		cancel(nil)
		return nil, fmt.Errorf("fetch %s: %w", cfg.URL, err)
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "davit"
	}
	req.Header.Set("User-Agent", ua)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		cancel(nil)
		tr.CloseIdleConnections()
		return nil, describeRequestError(cfg.URL, u.Host, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		resp.Body.Close()
		cancel(nil)
		tr.CloseIdleConnections()
		return nil, fmt.Errorf("fetch: %w", &HTTPStatusError{URL: resp.Request.URL.String(), Code: resp.StatusCode, Status: resp.Status})
	}
	d := &Download{
		URL: resp.Request.URL.String(), Size: resp.ContentLength,
		body: resp.Body, transport: tr, cancel: cancel, ctx: ctx, stall: stall,
	}
	d.timer = time.AfterFunc(time.Hour, func() { cancel(ErrStalled) })
	d.timer.Stop()
	return d, nil
}

// Read reads the body; only time spent waiting here counts as a stall.
func (d *Download) Read(p []byte) (int, error) {
	d.timer.Reset(d.stall)
	n, err := d.body.Read(p)
	d.timer.Stop()
	d.done += int64(n)
	switch {
	case err == nil || (errors.Is(err, io.EOF) && (d.Size < 0 || d.done >= d.Size)):
		return n, err
	case errors.Is(context.Cause(d.ctx), ErrStalled):
		return n, fmt.Errorf("%w: no data for %s after %d bytes", ErrStalled, d.stall, d.done)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if d.Size >= 0 {
			return n, fmt.Errorf("%w after %d of %d bytes", ErrEndedEarly, d.done, d.Size)
		}
		return n, fmt.Errorf("%w after %d bytes: %w", ErrEndedEarly, d.done, err)
	}
	return n, fmt.Errorf("read body: %w", err)
}

// Close ends the download and releases its connections.
func (d *Download) Close() error {
	var err error
	d.closeOnce.Do(func() {
		d.timer.Stop()
		err = d.body.Close()
		d.cancel(nil)
		d.transport.CloseIdleConnections()
	})
	return err
}

// describeRequestError names what failed before a response arrived.
func describeRequestError(rawURL, host string, err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if tlsErr := describeTLSError(host, err); tlsErr != nil {
		return fmt.Errorf("fetch %s: %w", rawURL, tlsErr)
	}
	var (
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	switch {
	case errors.As(err, &dnsErr):
		return fmt.Errorf("fetch %s: resolve host %s: %w", rawURL, dnsErr.Name, err)
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return fmt.Errorf("fetch %s: connect to %s: %w", rawURL, host, err)
	case isTimeout(err):
		return fmt.Errorf("fetch %s: %w: no response from %s: %w", rawURL, ErrStalled, host, err)
	}
	return fmt.Errorf("fetch %s: %w", rawURL, err)
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
