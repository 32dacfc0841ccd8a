package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"davit/agent/imagectl"
	"davit/api"
	"davit/raftstore"
)

// ImagesConfig tunes the image controllers (config file key "images").
// Zero values mean the defaults of imagectl.DefaultConfig.
type ImagesConfig struct {
	// UploadStartTimeout: an upload URL not used within it fails the
	// image with WaitForUserUploadTimeout (default 10m).
	UploadStartTimeout Duration `json:"uploadStartTimeout"`
	// StallTimeout: an import or upload that receives nothing for this
	// long fails (default 2m).
	StallTimeout Duration `json:"stallTimeout"`
	// NodeLostAfter: how long a node may be not Ready before its imports
	// and replicas move to other nodes (default 1m).
	NodeLostAfter Duration `json:"nodeLostAfter"`
	// ExternalUploadURL is the base of status.imageUploadURLs.external
	// when a proxy fronts the agents (default: this agent's address).
	ExternalUploadURL string `json:"externalUploadURL"`
}

// imageController builds the image controllers from the agent's store,
// write path and config; the store lives in DATA/images.
func (a *Agent) imageController() (*imagectl.Controller, error) {
	cfg := imagectl.DefaultConfig()
	cfg.NodeName, cfg.AdvertiseHTTP, cfg.Logger = a.cfg.NodeName, a.cfg.AdvertiseHTTP, a.log
	cfg.StoreDir = filepath.Join(a.cfg.DataDir, "images")
	cfg.ExternalUploadURL = a.cfg.Images.ExternalUploadURL
	for _, d := range []struct {
		from Duration
		to   *time.Duration
	}{{a.cfg.Images.UploadStartTimeout, &cfg.UploadStartTimeout}, {a.cfg.Images.StallTimeout, &cfg.StallTimeout},
		{a.cfg.Images.NodeLostAfter, &cfg.NodeLostAfter}} {
		if d.from.Duration != 0 {
			*d.to = d.from.Duration
		}
	}
	c, err := imagectl.New(cfg, imageCluster{a})
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	return c, nil
}

// mountImages builds the image controllers and mounts their endpoints
// (uploads, blobs for peers) on the API. startImages runs them.
func (a *Agent) mountImages() error {
	c, err := a.imageController()
	if err != nil {
		return err
	}
	for pattern, h := range c.Handlers() {
		a.api.Handle(pattern, h)
	}
	a.images = c
	return nil
}

// startImages runs the image controllers until ctx ends; a.wg owns them.
func (a *Agent) startImages(ctx context.Context) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.images.Run(ctx); err != nil {
			a.log.Error("image controllers stopped", "err", err)
		}
	}()
}

// imageCluster is the agent as the image controllers see it.
type imageCluster struct{ a *Agent }

var _ imagectl.Cluster = imageCluster{}

func (c imageCluster) Get(kind, namespace, name string) (*api.Object, error) {
	return c.a.store.Get(kind, namespace, name)
}

func (c imageCluster) List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64) {
	return c.a.store.List(kind, namespace, match)
}

func (c imageCluster) AppliedIndex() uint64 { return c.a.store.AppliedIndex() }
func (c imageCluster) IsLeader() bool       { return c.a.store.IsLeader() }

func (c imageCluster) Apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error) {
	return c.a.apply(ctx, cmd)
}

func (c imageCluster) ConsistentRead(ctx context.Context) error { return c.a.consistentRead(ctx) }

func (c imageCluster) NodeHTTPAddr(node string) string {
	if node == c.a.cfg.NodeName {
		return c.a.cfg.AdvertiseHTTP
	}
	obj, err := c.a.store.Get("Node", "", node)
	if err != nil {
		return ""
	}
	return nodeAddress(obj, addrHTTP)
}
