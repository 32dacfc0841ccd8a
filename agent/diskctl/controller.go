package diskctl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"davit/agent/view"
	"davit/api"
	"davit/raftstore"
)

// Cluster is what the controller needs from its agent.
type Cluster = view.Cluster

// Blobs gets image blobs onto this node: (*imagectl.Controller).LocalBlob.
// It may be called concurrently.
type Blobs interface {
	// LocalBlob returns the path of the blob in this node's store,
	// fetching it from a holder first when needed.
	LocalBlob(ctx context.Context, digest string) (string, error)
}

// OnlineResize grows the disk file at path to newSize bytes while a VM
// running on this node has it open (QMP block_resize). handled=false
// means the VM is not running here after all, or the hook cannot do it;
// the controller then retries later and resizes offline once no running
// VM has the disk open. It may be called concurrently for different paths.
type OnlineResize func(ctx context.Context, path string, newSize int64) (handled bool, err error)

// Config configures a Controller.
type Config struct {
	// NodeName is this agent's node.
	NodeName string
	// DataDir is the agent's data directory; a local class without a
	// path keeps its files in DataDir/storage/<class>.
	DataDir string
	// Resync is how often the reconcile passes run.
	Resync time.Duration
	// RetryBase and RetryMax bound the backoff between attempts of a
	// failed provision, resize or delete (doubling from RetryBase).
	RetryBase, RetryMax time.Duration
	// Online, when set, resizes a disk a running VM has open. Nil: never
	// handled (the resize waits until no running VM on this node has it).
	Online OnlineResize
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns davit's defaults.
func DefaultConfig() Config {
	return Config{Resync: 500 * time.Millisecond, RetryBase: 2 * time.Second, RetryMax: 5 * time.Minute}
}

// Validate names every bad field and its value.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("nodeName: must not be empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("dataDir: must not be empty"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"resync", c.Resync}, {"retryBase", c.RetryBase}, {"retryMax", c.RetryMax}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: %s must be positive", d.name, d.v))
		}
	}
	if c.RetryBase > 0 && c.RetryMax > 0 && c.RetryMax < c.RetryBase {
		errs = append(errs, fmt.Errorf("retryMax: %s is less than retryBase %s", c.RetryMax, c.RetryBase))
	}
	return errors.Join(errs...)
}

// Controller runs the VirtualDisk controller of one agent.
type Controller struct {
	cfg     Config
	cluster Cluster
	blobs   Blobs
	log     *slog.Logger

	mu sync.Mutex
	// running holds the uid of every disk with a job on this node.
	running map[string]bool
	// doneRV is, per disk uid, the resourceVersion the last successful job
	// was planned from: a pass that read the state before that job's own
	// write does not run the same work again.
	doneRV map[string]uint64
	// failed is the backoff state of disks whose last job failed.
	failed map[string]backoff
}

// backoff is when a disk's next attempt may start.
type backoff struct {
	attempts int
	next     time.Time
}

// New returns a controller; Run starts it. blobs may be nil on an agent
// without an image store: disks from images then fail with a message.
func New(cfg Config, cluster Cluster, blobs Blobs) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("disk controller config: %w", err)
	}
	if cluster == nil {
		return nil, errors.New("disk controller: nil cluster")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Controller{cfg: cfg, cluster: cluster, blobs: blobs, log: log.With("component", "disks"),
		running: map[string]bool{}, failed: map[string]backoff{}, doneRV: map[string]uint64{}}, nil
}

// Run reconciles until ctx ends; it returns after every job it started
// has ended (jobs stop when ctx ends).
func (c *Controller) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for {
		w := c.world()
		if c.cluster.IsLeader() && c.leaderPass(ctx, w) {
			w = c.world() // act on the new decisions at once
		}
		c.nodePass(ctx, w, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (c *Controller) world() *world {
	return readWorld(c.cluster, c.cfg.NodeName, c.cfg.DataDir, time.Now())
}

// leaderPass applies the leader's plan to every disk and reports whether
// it wrote anything. A conflict (the disk changed meanwhile) is left to
// the next pass, which plans again.
func (c *Controller) leaderPass(ctx context.Context, w *world) bool {
	wrote := false
	for _, d := range w.disks {
		plan := w.planLeader(d)
		changed, err := c.writeStatus(ctx, d, plan.status)
		if err != nil {
			c.log.Debug("write disk status", "disk", d.key(), "err", err)
		}
		if plan.addFinalizer {
			c.applyLogged(ctx, d, raftstore.AddFinalizerCommand(api.KindVirtualDisk, d.ns(), d.name(), Finalizer))
		}
		wrote = wrote || changed || plan.addFinalizer
		if err == nil && plan.removeFinalizer {
			c.log.Info("disk released (never bound to a node)", "disk", d.key())
			c.applyLogged(ctx, d, raftstore.RemoveFinalizerCommand(api.KindVirtualDisk, d.ns(), d.name(), Finalizer))
			wrote = true
		}
	}
	return wrote
}

// nodePass starts a job for every task of this node that has none
// running and is not waiting out a backoff.
func (c *Controller) nodePass(ctx context.Context, w *world, wg *sync.WaitGroup) {
	tasks := w.planNode()
	c.mu.Lock()
	defer c.mu.Unlock()
	live := map[string]bool{}
	for _, d := range w.disks {
		live[d.uid()] = true
	}
	for uid := range c.failed {
		if !live[uid] {
			delete(c.failed, uid)
		}
	}
	for uid := range c.doneRV {
		if !live[uid] {
			delete(c.doneRV, uid)
		}
	}
	for _, t := range tasks {
		uid, rv := t.d.uid(), t.d.obj.Metadata.RV()
		if c.running[uid] || w.now.Before(c.failed[uid].next) || rv <= c.doneRV[uid] {
			continue
		}
		c.running[uid] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.runTask(ctx, t)
			c.finish(uid, rv, err)
		}()
	}
}

// finish records a job's outcome for the backoff.
func (c *Controller) finish(uid string, rv uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.running, uid)
	if err == nil {
		delete(c.failed, uid)
		c.doneRV[uid] = rv
		return
	}
	b := c.failed[uid]
	b.attempts++
	b.next = time.Now().Add(c.retryDelay(b.attempts))
	c.failed[uid] = b
}

// retryDelay is RetryBase doubled per failed attempt, capped at RetryMax.
func (c *Controller) retryDelay(attempts int) time.Duration {
	d := c.cfg.RetryBase
	for i := 1; i < attempts && d < c.cfg.RetryMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.RetryMax)
}

// applyLogged applies cmd; a failure is logged and left to the next pass.
func (c *Controller) applyLogged(ctx context.Context, d *disk, cmd raftstore.Command) {
	res, err := c.cluster.Apply(ctx, cmd)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		c.log.Debug("disk command failed", "disk", d.key(), "command", cmd.Type, "err", err)
	}
}
