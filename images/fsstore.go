package images

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

const (
	tempPrefix = ".tmp-"
	blobMode   = 0o444 // blobs are immutable
	dirMode    = 0o750
)

// FSStore is the node-local Store: blob files under DIR/sha256/<hex>.
// Writes go to ".tmp-*" files in the same directory, are fsynced, renamed
// into place and the directory fsynced, so a blob exists under its final
// name only whole. It is safe for concurrent use.
type FSStore struct {
	dir string // DIR/sha256
}

var _ FileStore = (*FSStore)(nil)

// OpenFS opens (creating it if needed) the store rooted at dir and removes
// temporary files a crashed writer left behind. Only one process may use
// a store directory.
func OpenFS(dir string) (*FSStore, error) {
	s := &FSStore{dir: filepath.Join(dir, "sha256")}
	if err := os.MkdirAll(s.dir, dirMode); err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("open image store: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			if err := os.RemoveAll(filepath.Join(s.dir, e.Name())); err != nil {
				return nil, fmt.Errorf("open image store: remove stale temp file: %w", err)
			}
		}
	}
	return s, nil
}

// Dir is the directory holding the blob files.
func (s *FSStore) Dir() string { return s.dir }

// Path returns the file of a blob (which may not exist).
func (s *FSStore) Path(digest string) (string, error) {
	h, err := ParseDigest(digest)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, h), nil
}

// CreateTemp creates a temporary file in the store's directory.
func (s *FSStore) CreateTemp() (*os.File, error) {
	f, err := os.CreateTemp(s.dir, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return f, nil
}

// Put stores r's bytes, hashing them as they are written.
func (s *FSStore) Put(ctx context.Context, r io.Reader) (Blob, error) {
	f, err := s.CreateTemp()
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	h := sha256.New()
	n, err := copyContext(ctx, io.MultiWriter(f, h), r)
	if err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	if err := closeDurably(f); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	b := Blob{Digest: digestOf(h.Sum(nil)), Size: n}
	if err := s.commit(f.Name(), b.Digest); err != nil {
		return Blob{}, fmt.Errorf("put blob: %w", err)
	}
	committed = true
	return b, nil
}

// Adopt hashes the file at path, fsyncs it and renames it into the store;
// a file on another filesystem is copied instead.
func (s *FSStore) Adopt(ctx context.Context, path string) (Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	h := sha256.New()
	n, err := copyContext(ctx, h, f)
	if err == nil {
		err = closeDurably(f)
	} else {
		f.Close()
	}
	if err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	b := Blob{Digest: digestOf(h.Sum(nil)), Size: n}
	err = s.commit(path, b.Digest)
	if errors.Is(err, syscall.EXDEV) {
		return s.adoptByCopy(ctx, path, b)
	}
	if err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	return b, nil
}

func (s *FSStore) adoptByCopy(ctx context.Context, path string, want Blob) (Blob, error) {
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	defer f.Close()
	b, err := s.Put(ctx, f)
	if err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	if b != want {
		return Blob{}, fmt.Errorf("adopt blob: %s changed while it was copied", path)
	}
	if err := os.Remove(path); err != nil {
		return Blob{}, fmt.Errorf("adopt blob: %w", err)
	}
	return b, nil
}

// commit renames a finished, fsynced file to its digest and fsyncs the
// directory so the rename survives a crash.
func (s *FSStore) commit(tmp, digest string) error {
	final, err := s.Path(digest)
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, blobMode); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("commit blob: %w", err)
	}
	return syncDir(s.dir)
}

// Open opens a blob for reading.
func (s *FSStore) Open(_ context.Context, digest string) (io.ReadSeekCloser, error) {
	return s.OpenFile(digest)
}

// OpenFile opens a blob's file for reading.
func (s *FSStore) OpenFile(digest string) (*os.File, error) {
	p, err := s.Path(digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open blob: %w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob: %w", err)
	}
	return f, nil
}

// Stat returns the blob's size.
func (s *FSStore) Stat(_ context.Context, digest string) (Blob, error) {
	p, err := s.Path(digest)
	if err != nil {
		return Blob{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Blob{}, fmt.Errorf("stat blob: %w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return Blob{}, fmt.Errorf("stat blob: %w", err)
	}
	return Blob{Digest: digest, Size: fi.Size()}, nil
}

// Has reports whether the blob's file exists.
func (s *FSStore) Has(ctx context.Context, digest string) (bool, error) {
	_, err := s.Stat(ctx, digest)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Delete removes the blob's file.
func (s *FSStore) Delete(_ context.Context, digest string) error {
	p, err := s.Path(digest)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob: %w", err)
	}
	return syncDir(s.dir)
}

// Verify re-hashes the blob's file.
func (s *FSStore) Verify(ctx context.Context, digest string) error {
	f, err := s.OpenFile(digest)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("verify blob: %w: %s is missing from the store", ErrImageLost, digest)
	}
	if err != nil {
		return fmt.Errorf("verify blob: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := copyContext(ctx, h, f); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("verify blob: %w", err)
		}
		return fmt.Errorf("verify blob: %w: %s cannot be read: %w", ErrImageLost, digest, err)
	}
	if got := digestOf(h.Sum(nil)); got != digest {
		return fmt.Errorf("verify blob: %w: %s is corrupt (its content hashes to %s)", ErrImageLost, digest, got)
	}
	return nil
}

// List returns every blob in the store, skipping temporary files.
func (s *FSStore) List(_ context.Context) ([]Blob, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	var blobs []Blob
	for _, e := range entries {
		digest := digestPrefix + e.Name()
		if _, err := ParseDigest(digest); err != nil || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list blobs: %w", err)
		}
		blobs = append(blobs, Blob{Digest: digest, Size: fi.Size()})
	}
	return blobs, nil
}

// closeDurably fsyncs and closes f.
func closeDurably(f *os.File) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
