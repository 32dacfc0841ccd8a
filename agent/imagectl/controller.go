package imagectl

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"davit/agent/view"
	"davit/images"
	"davit/raftstore"
)

// Cluster is what the controller needs from its agent.
type Cluster interface {
	view.Cluster
	// ConsistentRead returns once the local state has caught up with
	// everything committed before the call.
	ConsistentRead(ctx context.Context) error
	// NodeHTTPAddr is the host:port of a member's HTTP API, or "".
	NodeHTTPAddr(node string) string
}

// Config configures a Controller.
type Config struct {
	// NodeName is this agent's node.
	NodeName string
	// AdvertiseHTTP is the host:port other members and users reach this
	// agent's HTTP API at; it goes into upload URLs.
	AdvertiseHTTP string
	// ExternalUploadURL, when set, is the base of
	// status.imageUploadURLs.external (a proxy in front of the agents,
	// "https://virtualization.example.com"); default http://AdvertiseHTTP.
	ExternalUploadURL string
	// StoreDir is the content store's directory (DATA/images).
	StoreDir string
	// UploadStartTimeout is how long an upload URL waits for its upload
	// to start before the image fails with WaitForUserUploadTimeout.
	UploadStartTimeout time.Duration
	// StallTimeout fails an import (or upload) that receives no byte for
	// this long.
	StallTimeout time.Duration
	// NodeLostAfter is how long a node may be not Ready before its
	// imports and replicas are given to other nodes.
	NodeLostAfter time.Duration
	// Resync is how often the reconcile passes run.
	Resync time.Duration
	// GCGrace is how long a blob must be unreferenced before it is deleted.
	GCGrace time.Duration
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns the reference's timings (a 10-minute upload start
// deadline) and davit's own defaults.
func DefaultConfig() Config {
	return Config{
		UploadStartTimeout: 10 * time.Minute,
		StallTimeout:       images.DefaultStallTimeout,
		NodeLostAfter:      time.Minute,
		Resync:             500 * time.Millisecond,
		GCGrace:            10 * time.Second,
	}
}

// Validate names the first bad field of each kind and its value.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("nodeName: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.AdvertiseHTTP); err != nil {
		errs = append(errs, fmt.Errorf("advertiseHTTP: %q is not host:port: %w", c.AdvertiseHTTP, err))
	}
	if c.StoreDir == "" {
		errs = append(errs, errors.New("storeDir: must not be empty"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"uploadStartTimeout", c.UploadStartTimeout}, {"stallTimeout", c.StallTimeout},
		{"nodeLostAfter", c.NodeLostAfter}, {"resync", c.Resync}, {"gcGrace", c.GCGrace}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: %s must be positive", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// Controller runs the image controllers of one agent.
type Controller struct {
	cfg     Config
	cluster Cluster
	log     *slog.Logger
	store   *images.FSStore
	local   *localBlobs
	jobs    jobs
	peers   *http.Client
	// unrefSince is when each local blob was first seen unreferenced (GC).
	unrefSince map[string]time.Time
	// fetchFailed is when a fetch of a digest last failed (backoff).
	fetchMu     sync.Mutex
	fetchFailed map[string]time.Time
}

// New opens the content store at cfg.StoreDir (removing temporary files
// a crash left) and returns a controller; Run starts it.
func New(cfg Config, cluster Cluster) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("image controller config: %w", err)
	}
	store, err := images.OpenFS(filepath.Clean(cfg.StoreDir))
	if err != nil {
		return nil, fmt.Errorf("image controller: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg, cluster: cluster, log: log.With("component", "images"), store: store,
		local: newLocalBlobs(), peers: peerClient(), unrefSince: map[string]time.Time{},
		fetchFailed: map[string]time.Time{}}, nil
}

// Store is the node's content store.
func (c *Controller) Store() *images.FSStore { return c.store }

// Handlers returns the HTTP endpoints to mount on the agent's API:
// uploads (PUT and POST /upload/{secret}) and blobs for peers
// (GET and HEAD /v1/blobs/{digest}).
func (c *Controller) Handlers() map[string]http.Handler {
	return map[string]http.Handler{
		"PUT /upload/{secret}":   http.HandlerFunc(c.handleUpload),
		"POST /upload/{secret}":  http.HandlerFunc(c.handleUpload),
		"GET /v1/blobs/{digest}": http.HandlerFunc(c.handleBlob),
	}
}

// Run verifies the store, then reconciles until ctx ends; it returns after
// every job it started has ended.
func (c *Controller) Run(ctx context.Context) error {
	c.jobs.open(ctx)
	defer c.jobs.close()
	c.local.verifyAll(ctx, c.store, c.log)
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for {
		w := readWorld(c.cluster, c.cfg.NodeName, time.Now())
		if c.cluster.IsLeader() && c.leaderPass(ctx, w) {
			w = readWorld(c.cluster, c.cfg.NodeName, time.Now()) // act on the new decisions at once
		}
		c.nodePass(ctx, w)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// leaderPass applies the leader's plan to every image and reports whether
// it wrote anything. A conflict (the image changed meanwhile) is left to
// the next pass, which plans again.
func (c *Controller) leaderPass(ctx context.Context, w *world) bool {
	p := c.planner(w)
	wrote := false
	for _, r := range w.order {
		im := w.images[r]
		plan := p.plan(im)
		changed, err := c.writeStatus(ctx, im, plan.status)
		if err != nil {
			c.log.Debug("write image status", "image", r, "err", err)
		}
		if plan.addFinalizer {
			c.applyLogged(ctx, r, raftstore.AddFinalizerCommand(r.kind, r.namespace, r.name, Finalizer))
		}
		wrote = wrote || changed || plan.addFinalizer
		if err != nil {
			continue
		}
		if plan.removeFinalizer {
			c.log.Info("image released", "image", r)
			c.applyLogged(ctx, r, raftstore.RemoveFinalizerCommand(r.kind, r.namespace, r.name, Finalizer))
			wrote = true
		}
	}
	return wrote
}

func (c *Controller) planner(w *world) *planner {
	return &planner{w: w, uploadTimeout: c.cfg.UploadStartTimeout, lostAfter: c.cfg.NodeLostAfter,
		uploadURLs: c.uploadURLs, newSecret: newSecret}
}

// applyLogged applies cmd; a failure is logged and left to the next pass.
func (c *Controller) applyLogged(ctx context.Context, r ref, cmd raftstore.Command) {
	res, err := c.cluster.Apply(ctx, cmd)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		c.log.Debug("image command failed", "image", r, "command", cmd.Type, "err", err)
	}
}

// uploadURLs are the external and in-cluster URLs of an upload secret.
func (c *Controller) uploadURLs(secret string) (string, string) {
	in := "http://" + c.cfg.AdvertiseHTTP + "/upload/" + secret
	if c.cfg.ExternalUploadURL == "" {
		return in, in
	}
	return c.cfg.ExternalUploadURL + "/upload/" + secret, in
}

// newSecret is 32 random bytes, base64url: the capability an upload URL
// carries.
func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("imagectl: crypto/rand failed: " + err.Error()) // never on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// peerClient fetches blobs from peers: no overall timeout (blobs are
// large), but bounded connection setup and response headers.
func peerClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}}
}
