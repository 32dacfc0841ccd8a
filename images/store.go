package images

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// Blob is one stored image, named by the sha256 of its bytes.
type Blob struct {
	Digest string // "sha256:<64 hex>"
	Size   int64  // bytes
}

// Store holds image blobs by digest: davit's DVCR. FSStore keeps them as
// files on the node; an external OCI registry can implement it later.
// Implementations are safe for concurrent use. A blob appears under its
// digest only complete and verified: a crash never leaves half of one.
type Store interface {
	// Put stores the bytes of r and returns their digest and size.
	Put(ctx context.Context, r io.Reader) (Blob, error)
	// Open returns the blob's content; a missing blob matches ErrNotFound.
	Open(ctx context.Context, digest string) (io.ReadSeekCloser, error)
	// Stat returns the blob's size; a missing blob matches ErrNotFound.
	Stat(ctx context.Context, digest string) (Blob, error)
	// Has reports whether the blob is stored.
	Has(ctx context.Context, digest string) (bool, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, digest string) error
	// Verify re-reads the blob and checks its digest; a missing or
	// corrupt blob matches ErrImageLost.
	Verify(ctx context.Context, digest string) error
	// List returns every stored blob.
	List(ctx context.Context) ([]Blob, error)
}

// FileStore is a Store whose blobs are local files. Import and
// FetchFromPeer use these methods, found by type assertion, to write
// straight into the store's filesystem and move the result in with a
// rename instead of a copy.
type FileStore interface {
	Store
	// Path is the blob's file, for qemu-img or for creating disks from
	// it. The file must not be written.
	Path(digest string) (string, error)
	// CreateTemp creates a temporary file on the store's filesystem that
	// is removed by the next OpenFS if the process dies.
	CreateTemp() (*os.File, error)
	// Adopt hashes the finished file at path, makes it durable and moves
	// it into the store. On success path no longer exists.
	Adopt(ctx context.Context, path string) (Blob, error)
}

const digestPrefix = "sha256:"

// ParseDigest checks that digest is "sha256:" followed by 64 lowercase hex
// digits and returns the hex part.
func ParseDigest(digest string) (string, error) {
	h, ok := strings.CutPrefix(digest, digestPrefix)
	if !ok || len(h) != 64 || strings.ToLower(h) != h {
		return "", fmt.Errorf("%w: %q: want sha256:<64 lowercase hex digits>", ErrInvalidDigest, digest)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return "", fmt.Errorf("%w: %q: want sha256:<64 lowercase hex digits>", ErrInvalidDigest, digest)
	}
	return h, nil
}

func digestOf(sum []byte) string { return digestPrefix + hex.EncodeToString(sum) }

// copyContext is io.Copy that stops between chunks once ctx is done.
func copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	return io.Copy(dst, &ctxReader{ctx: ctx, r: src})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
