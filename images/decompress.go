package images

import (
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// zstdMaxWindow bounds the memory a zstd stream may ask for (zstd --long
// uses 128 MiB windows; larger ones are refused instead of allocated).
const zstdMaxWindow = 128 << 20

// Decompress returns a reader of the unpacked bytes of r, compressed with
// c. When limit > 0, reading more than limit unpacked bytes fails with
// ErrTooLarge (zip-bomb protection). Close releases the decoder; it does
// not close r. For CompressionNone the reader only applies the cap.
func Decompress(r io.Reader, c Compression, limit int64) (io.ReadCloser, error) {
	var (
		rc  io.ReadCloser
		err error
	)
	switch c {
	case CompressionNone:
		rc = io.NopCloser(r)
	case CompressionGzip:
		rc, err = gzip.NewReader(r) // multistream, as gunzip
	case CompressionXZ:
		var xr *xz.Reader
		xr, err = xz.NewReader(r)
		rc = io.NopCloser(xr)
	case CompressionZstd:
		var zr *zstd.Decoder
		// Concurrency 1 decodes synchronously: no goroutines to own.
		zr, err = zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err == nil {
			rc = zr.IOReadCloser()
		}
	case CompressionBzip2:
		rc = io.NopCloser(bzip2.NewReader(r))
	default:
		return nil, fmt.Errorf("decompress image: unknown compression %q", c)
	}
	if err != nil {
		return nil, fmt.Errorf("decompress %s image: %w", c, err)
	}
	return &decompressReader{r: LimitUnpacked(rc, limit), c: c, closer: rc}, nil
}

type decompressReader struct {
	r      io.Reader
	c      Compression
	closer io.Closer
}

func (d *decompressReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && d.c != CompressionNone {
		var capped *tooLargeError
		if !errors.As(err, &capped) {
			err = fmt.Errorf("decompress %s image: %w", d.c, err)
		}
	}
	return n, err
}

func (d *decompressReader) Close() error { return d.closer.Close() }

// LimitUnpacked wraps r so that reading more than limit bytes fails with
// an error that matches ErrTooLarge and names the cap. limit <= 0 means
// no cap.
func LimitUnpacked(r io.Reader, limit int64) io.Reader {
	if limit <= 0 {
		return r
	}
	return &cappedReader{r: r, max: limit}
}

type cappedReader struct {
	r   io.Reader
	max int64
	n   int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, &tooLargeError{max: c.max}
	}
	// Read at most one byte past the cap: that byte proves the excess.
	if rest := c.max - c.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n - int(c.n-c.max), &tooLargeError{max: c.max}
	}
	return n, err
}

type tooLargeError struct{ max int64 }

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%v: the unpacked image is larger than the limit of %s", ErrTooLarge, formatBytes(e.max))
}

func (e *tooLargeError) Is(target error) bool { return target == ErrTooLarge }
