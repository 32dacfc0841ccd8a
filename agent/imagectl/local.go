package imagectl

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"davit/images"
)

// localBlobs is this node's knowledge of its own store: the blobs it has
// verified (at start) or written since. Until verifyAll has finished the
// node neither announces nor withdraws holdings.
type localBlobs struct {
	mu       sync.Mutex
	m        map[string]bool
	verified bool
}

func newLocalBlobs() *localBlobs { return &localBlobs{m: map[string]bool{}} }

// verifyAll re-hashes every stored blob; a corrupt one is deleted (it
// must not be served) and so ends up missing, which withdraws this node
// from its holders.
func (l *localBlobs) verifyAll(ctx context.Context, store images.Store, log *slog.Logger) {
	blobs, err := store.List(ctx)
	if err != nil {
		log.Error("list stored images", "err", err)
	}
	for _, b := range blobs {
		err := store.Verify(ctx, b.Digest)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, images.ErrImageLost):
			log.Error("stored image is corrupt: deleting it", "digest", b.Digest, "err", err)
			if err := store.Delete(ctx, b.Digest); err != nil {
				log.Error("delete corrupt image", "digest", b.Digest, "err", err)
			}
		case err != nil:
			log.Error("verify stored image", "digest", b.Digest, "err", err)
		default:
			l.add(b.Digest)
		}
	}
	l.mu.Lock()
	l.verified = true
	l.mu.Unlock()
	log.Info("verified stored images", "count", len(l.list()))
}

func (l *localBlobs) add(digest string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[digest] = true
}

func (l *localBlobs) remove(digest string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, digest)
}

func (l *localBlobs) has(digest string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[digest]
}

// list returns the digests held.
func (l *localBlobs) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.m))
	for d := range l.m {
		out = append(out, d)
	}
	return out
}

// refresh drops the digests whose files disappeared (deleted by hand).
func (l *localBlobs) refresh(ctx context.Context, store images.Store) {
	for _, d := range l.list() {
		if ok, err := store.Has(ctx, d); err == nil && !ok {
			l.remove(d)
		}
	}
}

// snapshot returns the digests held and whether verification finished.
func (l *localBlobs) snapshot() (map[string]bool, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.m))
	for d := range l.m {
		out[d] = true
	}
	return out, l.verified
}
