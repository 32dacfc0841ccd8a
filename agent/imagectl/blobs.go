package imagectl

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"davit/images"
)

// fetchBackoff is how long a failed replica fetch waits before the next try.
const fetchBackoff = 3 * time.Second

// handleBlob serves GET (and HEAD) /v1/blobs/{digest}: from this node's
// store, with Range support for resuming peers; a node that does not hold
// the blob redirects (307) to one that does, once (the redirect carries
// noredirect=1, so a stale view cannot loop).
func (c *Controller) handleBlob(w http.ResponseWriter, r *http.Request) {
	digest := r.PathValue("digest")
	if _, err := images.ParseDigest(digest); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ok, _ := c.store.Has(r.Context(), digest); ok || r.URL.Query().Get("noredirect") != "" {
		images.ServeBlob(w, r, c.store)
		return
	}
	for _, node := range c.holdersOf(digest) {
		if node == c.cfg.NodeName {
			continue
		}
		if addr := c.cluster.NodeHTTPAddr(node); addr != "" {
			http.Redirect(w, r, "http://"+addr+"/v1/blobs/"+digest+"?noredirect=1", http.StatusTemporaryRedirect)
			return
		}
	}
	http.Error(w, fmt.Sprintf("no node holds %s", digest), http.StatusNotFound)
}

// holdersOf lists the nodes any image says hold digest.
func (c *Controller) holdersOf(digest string) []string {
	var out []string
	for _, kind := range imageKinds {
		objs, _ := c.cluster.List(kind, "", nil)
		for _, o := range objs {
			im, err := decodeImage(o)
			if err != nil || im.status.digest() != digest {
				continue
			}
			for _, h := range im.status.holders() {
				if !slices.Contains(out, h) {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

// startFetch starts fetching a replica of digest unless one is running or
// the last try failed a moment ago.
func (c *Controller) startFetch(digest string, im *image, w *world) {
	c.fetchMu.Lock()
	recent := time.Since(c.fetchFailed[digest]) < fetchBackoff
	c.fetchMu.Unlock()
	if recent {
		return
	}
	var sources []string
	for _, h := range im.status.holders() {
		if h != c.cfg.NodeName && w.nodes[h].ready {
			sources = append(sources, h)
		}
	}
	if len(sources) == 0 {
		return
	}
	c.jobs.start(fetchKey(digest), 0, "", func(ctx context.Context) { c.runFetch(ctx, digest, sources) })
}

// runFetch copies digest from the first source that delivers it, resuming
// cut transfers and verifying the digest (images.FetchFromPeer).
func (c *Controller) runFetch(ctx context.Context, digest string, sources []string) {
	var lastErr error
	for _, node := range sources {
		addr := c.cluster.NodeHTTPAddr(node)
		if addr == "" {
			continue
		}
		start := time.Now()
		b, err := images.FetchFromPeer(ctx, c.peers, "http://"+addr+"/v1/blobs", digest, c.store)
		if err == nil {
			c.local.add(digest)
			c.log.Info("fetched image replica", "digest", digest, "from", node, "bytes", b.Size,
				"seconds", time.Since(start).Seconds())
			return
		}
		if ctx.Err() != nil {
			return
		}
		lastErr = err
		c.log.Warn("fetch image replica", "digest", digest, "from", node, "err", err)
	}
	c.fetchMu.Lock()
	c.fetchFailed[digest] = time.Now()
	c.fetchMu.Unlock()
	if lastErr != nil {
		c.log.Debug("no source delivered the image replica", "digest", digest, "err", lastErr)
	}
}
