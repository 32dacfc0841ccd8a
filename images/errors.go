package images

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is; the wrapped messages
// carry the details a user needs (the cap, the expected and actual sums,
// the HTTP status, ...).
var (
	// ErrChecksumMismatch: the bytes received do not match a checksum the
	// user gave. Retrying will not help (ProvisioningFailedTerminally).
	ErrChecksumMismatch = errors.New("checksum mismatch")
	// ErrUnsupportedChecksum: a checksum algorithm this build cannot
	// compute (streebog).
	ErrUnsupportedChecksum = errors.New("unsupported checksum")
	// ErrTooLarge: the unpacked image is bigger than the configured cap.
	ErrTooLarge = errors.New("image too large")
	// ErrHTMLPage: the source returned an HTML page instead of an image.
	ErrHTMLPage = errors.New("the URL returned an HTML page, not a disk image")
	// ErrEmptyImage: the source returned no bytes at all.
	ErrEmptyImage = errors.New("the image is empty")
	// ErrUnsupportedFormat: a format davit does not import.
	ErrUnsupportedFormat = errors.New("unsupported image format")
	// ErrCorruptImage: qemu-img found the image corrupt or truncated.
	ErrCorruptImage = errors.New("corrupt image")
	// ErrStalled: no bytes arrived for the stall timeout.
	ErrStalled = errors.New("download stalled")
	// ErrEndedEarly: the body ended before Content-Length bytes.
	ErrEndedEarly = errors.New("download ended early")
	// ErrTLS: the TLS handshake with the server failed.
	ErrTLS = errors.New("TLS handshake failed")
	// ErrNoDiskFile: a container image has no regular file under /disk/.
	ErrNoDiskFile = errors.New("no disk file in container image")
	// ErrNotFound: the store does not hold the blob.
	ErrNotFound = errors.New("blob not found")
	// ErrImageLost: a blob the store should hold is missing or its
	// content no longer matches its digest.
	ErrImageLost = errors.New("image lost")
	// ErrDigestMismatch: a peer sent bytes whose sha256 is not the digest
	// asked for.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInvalidDigest: a digest string is not "sha256:" + 64 hex digits.
	ErrInvalidDigest = errors.New("invalid digest")
	// ErrQemuImgMissing: the qemu-img binary is not installed.
	ErrQemuImgMissing = errors.New("qemu-img not found (install the qemu-utils package)")
)

// HTTPStatusError is a non-2xx answer from an HTTP source or a peer.
// Code lets a controller tell a permanent 4xx from a transient 5xx.
type HTTPStatusError struct {
	URL    string
	Code   int
	Status string // e.g. "404 Not Found"
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("GET %s: the server answered %s", e.URL, e.Status)
}

// joinErrors is errors.Join on one line ("a; b"), for condition messages.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	format := strings.TrimSuffix(strings.Repeat("%w; ", len(errs)), "; ")
	args := make([]any, len(errs))
	for i, e := range errs {
		args[i] = e
	}
	return fmt.Errorf(format, args...)
}
