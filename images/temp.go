package images

import (
	"context"
	"fmt"
	"os"
)

// createTempFor creates a temp file on the store's filesystem when the
// store has one, so the finished file can be renamed into it.
func createTempFor(store Store) (*os.File, error) {
	if fs, ok := store.(FileStore); ok {
		return fs.CreateTemp()
	}
	f, err := os.CreateTemp("", "davit-image-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return f, nil
}

// createTempIn creates a temp file in dir, or on the store's filesystem
// when dir is empty.
func createTempIn(dir string, store Store) (*os.File, error) {
	if dir == "" {
		return createTempFor(store)
	}
	f, err := os.CreateTemp(dir, "davit-image-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	return f, nil
}

// commitTemp moves a finished temp file into the store: a rename for a
// FileStore, a copy otherwise. The caller still removes path afterwards
// (a no-op once it was renamed).
func commitTemp(ctx context.Context, store Store, path string) (Blob, error) {
	if fs, ok := store.(FileStore); ok {
		return fs.Adopt(ctx, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Blob{}, fmt.Errorf("commit blob: %w", err)
	}
	defer f.Close()
	return store.Put(ctx, f)
}
