package imagectl

import (
	"context"
	"errors"
	"fmt"

	"davit/images"
)

// ErrNoHolder: no reachable node holds the blob a caller asked for.
var ErrNoHolder = errors.New("no reachable node holds the image blob")

// LocalBlob returns the path of blob digest in this node's store, copying
// it from a node that holds it first when this node does not (a VM's
// read-only image, or the source of a disk being provisioned here). The copy
// is verified against the digest before it appears under its final name, and
// the node pass then announces this node as one more holder.
func (c *Controller) LocalBlob(ctx context.Context, digest string) (string, error) {
	if _, err := images.ParseDigest(digest); err != nil {
		return "", fmt.Errorf("image blob %q: %w", digest, err)
	}
	if ok, err := c.store.Has(ctx, digest); err != nil {
		return "", fmt.Errorf("image blob %s: %w", digest, err)
	} else if ok {
		return c.store.Path(digest)
	}
	var lastErr error = ErrNoHolder
	for _, node := range c.holdersOf(digest) {
		addr := c.cluster.NodeHTTPAddr(node)
		if node == c.cfg.NodeName || addr == "" {
			continue
		}
		if _, err := images.FetchFromPeer(ctx, c.peers, "http://"+addr+"/v1/blobs", digest, c.store); err != nil {
			lastErr = fmt.Errorf("fetch from %s: %w", node, err)
			continue
		}
		c.local.add(digest)
		return c.store.Path(digest)
	}
	return "", fmt.Errorf("image blob %s: %w", digest, lastErr)
}
