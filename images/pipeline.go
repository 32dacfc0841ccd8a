package images

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ImportConfig says how to import one image.
type ImportConfig struct {
	// MaxUnpacked caps the bytes received, the unpacked bytes and a
	// disk's virtual size (ErrTooLarge); 0 means no cap.
	MaxUnpacked int64
	// Checksums of the bytes as received, before decompression.
	Checksums Checksums
	// TempDir holds the work files; empty means the store's own
	// filesystem (a FileStore's directory) so results move in by rename.
	TempDir string
	// SourceSize is how many bytes src will deliver (Content-Length, a
	// layer file's size), for the download percentage; 0 means unknown.
	SourceSize int64
	// Progress, if set, receives reports of the download and convert
	// phases from Import's goroutine.
	Progress func(Progress)
	// ProgressInterval bounds how often Progress is called; 0 means
	// DefaultProgressInterval.
	ProgressInterval time.Duration
}

// Result describes an imported image.
type Result struct {
	Digest        string      // of the stored blob
	Format        Format      // as stored: qcow2, or iso
	SourceFormat  Format      // as received, after decompression
	Compression   Compression // of the source
	CDROM         bool        // an ISO 9660 image
	ReceivedBytes int64       // bytes read from src
	StoredBytes   int64       // size of the stored blob (size.stored)
	UnpackedBytes int64       // virtual size of a disk, file size of an ISO (size.unpacked)
}

// Import reads an image from src and stores it: it verifies the checksums
// over the bytes as received, unpacks gz/xz/zstd/bz2 (capped), spools the
// result, detects the format by content, keeps an ISO as it is, and checks
// and converts a disk image to qcow2 with qemu-img. Nothing is left in
// TempDir or under a final name when it fails. The caller closes src.
func Import(ctx context.Context, src io.Reader, cfg ImportConfig, store Store) (Result, error) {
	v, err := NewVerifier(cfg.Checksums)
	if err != nil {
		return Result{}, fmt.Errorf("import image: %w", err)
	}
	imp := &importer{cfg: cfg, store: store}
	defer imp.removeTemps()
	res, err := imp.run(ctx, src, v)
	if err != nil {
		return Result{}, fmt.Errorf("import image: %w", err)
	}
	return res, nil
}

// importer is one Import's state: mostly the temp files it must remove.
type importer struct {
	cfg     ImportConfig
	store   Store
	temps   []string
	last    time.Time // of the last convert progress report
	lastPct float64   // of the last convert progress report
}

func (imp *importer) run(ctx context.Context, src io.Reader, v *Verifier) (Result, error) {
	spool, res, err := imp.receive(ctx, src, v)
	if err != nil {
		return Result{}, err
	}
	f, err := os.Open(spool)
	if err != nil {
		return Result{}, fmt.Errorf("open spooled image: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		res.SourceFormat, err = Detect(f, fi.Size())
	}
	f.Close()
	if err != nil {
		return Result{}, err
	}
	if res.SourceFormat == FormatISO {
		return imp.storeISO(ctx, spool, res)
	}
	return imp.storeDisk(ctx, spool, res)
}

// receive copies src, unpacked and capped, into a spool file while
// hashing the bytes as received, and verifies the checksums.
func (imp *importer) receive(ctx context.Context, src io.Reader, v *Verifier) (string, Result, error) {
	total := imp.cfg.SourceSize
	if total <= 0 {
		total = -1
	}
	m := newMeter(src, total, imp.cfg.Progress, imp.cfg.ProgressInterval)
	raw := bufio.NewReaderSize(io.TeeReader(LimitUnpacked(m, imp.cfg.MaxUnpacked), v), 64<<10)
	head, err := raw.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", Result{}, fmt.Errorf("receive image: %w", err)
	}
	res := Result{Compression: DetectCompression(head)}
	dr, err := Decompress(raw, res.Compression, imp.cfg.MaxUnpacked)
	if err != nil {
		return "", Result{}, err
	}
	defer dr.Close()
	unpacked := bufio.NewReaderSize(dr, 64<<10)
	if head, err := unpacked.Peek(1024); err != nil && !errors.Is(err, io.EOF) {
		return "", Result{}, fmt.Errorf("receive image: %w", err)
	} else if LooksLikeHTML(head) {
		return "", Result{}, ErrHTMLPage
	}
	spool, err := imp.createTemp()
	if err != nil {
		return "", Result{}, err
	}
	_, err = copyContext(ctx, spool, unpacked)
	if err == nil {
		// Anything after the compressed stream still counts for the checksum.
		_, err = copyContext(ctx, io.Discard, raw)
	}
	if cerr := spool.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", Result{}, fmt.Errorf("receive image: %w", err)
	}
	m.finish()
	res.ReceivedBytes = m.done
	if err := v.Verify(); err != nil {
		return "", Result{}, err
	}
	return spool.Name(), res, nil
}

// storeISO keeps an ISO image as it is.
func (imp *importer) storeISO(ctx context.Context, spool string, res Result) (Result, error) {
	b, err := commitTemp(ctx, imp.store, spool)
	if err != nil {
		return Result{}, fmt.Errorf("store iso image: %w", err)
	}
	res.Digest, res.Format, res.CDROM = b.Digest, FormatISO, true
	res.StoredBytes, res.UnpackedBytes = b.Size, b.Size
	return res, nil
}

// storeDisk inspects, checks and converts a disk image to qcow2 (a qcow2
// that passes its check is kept as it is) and stores it.
func (imp *importer) storeDisk(ctx context.Context, spool string, res Result) (Result, error) {
	info, err := Info(ctx, spool, res.SourceFormat)
	if err != nil {
		return Result{}, err
	}
	if err := imp.acceptable(res.SourceFormat, info); err != nil {
		return Result{}, err
	}
	if err := Check(ctx, spool, res.SourceFormat); err != nil {
		return Result{}, err
	}
	stored := spool
	if res.SourceFormat != FormatQCOW2 {
		if stored, err = imp.convert(ctx, spool, res.SourceFormat); err != nil {
			return Result{}, err
		}
	}
	b, err := commitTemp(ctx, imp.store, stored)
	if err != nil {
		return Result{}, fmt.Errorf("store disk image: %w", err)
	}
	res.Digest, res.Format = b.Digest, FormatQCOW2
	res.StoredBytes, res.UnpackedBytes = b.Size, info.VirtualSize
	return res, nil
}

// acceptable refuses images that depend on other files, are encrypted or
// expand past the cap.
func (imp *importer) acceptable(format Format, info ImageInfo) error {
	switch {
	case info.BackingFile != "":
		return fmt.Errorf("%w: the %s image refers to a backing file %q; flatten it first (qemu-img convert -O qcow2)", ErrUnsupportedFormat, format, info.BackingFile)
	case info.DataFile != "":
		return fmt.Errorf("%w: the %s image keeps its data in an external file %q; convert it to a single file first", ErrUnsupportedFormat, format, info.DataFile)
	case info.Encrypted:
		return fmt.Errorf("%w: the %s image is encrypted; decrypt it first", ErrUnsupportedFormat, format)
	case info.Corrupt:
		return fmt.Errorf("%w: the %s image is marked corrupt; repair it with qemu-img check -r all", ErrCorruptImage, format)
	case imp.cfg.MaxUnpacked > 0 && info.VirtualSize > imp.cfg.MaxUnpacked:
		return fmt.Errorf("%w: the disk's virtual size %s is larger than the limit of %s", ErrTooLarge, formatBytes(info.VirtualSize), formatBytes(imp.cfg.MaxUnpacked))
	}
	return nil
}

// convert writes spool as qcow2 into a new temp file and removes spool.
func (imp *importer) convert(ctx context.Context, spool string, format Format) (string, error) {
	out, err := imp.createTemp()
	if err != nil {
		return "", err
	}
	out.Close()
	imp.reportConvert(0, true)
	if err := Convert(ctx, spool, format, out.Name(), func(pct float64) { imp.reportConvert(pct, pct >= 100) }); err != nil {
		return "", err
	}
	imp.reportConvert(100, true)
	if err := os.Remove(spool); err != nil {
		return "", fmt.Errorf("remove spooled image: %w", err)
	}
	return out.Name(), nil
}

func (imp *importer) reportConvert(pct float64, force bool) {
	interval := imp.cfg.ProgressInterval
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	if imp.cfg.Progress == nil || (!force && time.Since(imp.last) < interval) || (!imp.last.IsZero() && pct == imp.lastPct) {
		return
	}
	imp.last, imp.lastPct = time.Now(), pct
	imp.cfg.Progress(Progress{Phase: PhaseConvert, Percent: pct, Total: -1})
}

func (imp *importer) createTemp() (*os.File, error) {
	f, err := createTempIn(imp.cfg.TempDir, imp.store)
	if err != nil {
		return nil, err
	}
	imp.temps = append(imp.temps, f.Name())
	return f, nil
}

// removeTemps removes every work file; those moved into the store are
// gone already.
func (imp *importer) removeTemps() {
	for _, p := range imp.temps {
		os.Remove(p)
	}
}
