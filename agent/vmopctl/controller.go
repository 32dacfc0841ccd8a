package vmopctl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"davit/agent/view"
)

// Kinds the controller reads.
const (
	kindVMOP = "VirtualMachineOperation"
	kindVM   = "VirtualMachine"
)

// Cluster is what the controller needs from its agent.
type Cluster = view.Cluster

// Config configures a Controller.
type Config struct {
	// Resync is how often a pass runs.
	Resync time.Duration
	// GCInterval is how often finished operations are collected (the
	// reference runs it daily; it is cheap, so davit runs it often and
	// the 24-hour age rule still holds).
	GCInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a 500 ms resync and a one-minute GC.
func DefaultConfig() Config {
	return Config{Resync: 500 * time.Millisecond, GCInterval: time.Minute}
}

// Validate names every bad field and its value.
func (c *Config) Validate() error {
	var errs []error
	if c.Resync <= 0 {
		errs = append(errs, fmt.Errorf("resync: %s must be positive", c.Resync))
	}
	if c.GCInterval <= 0 {
		errs = append(errs, fmt.Errorf("gcInterval: %s must be positive", c.GCInterval))
	}
	return errors.Join(errs...)
}

// Controller moves VirtualMachineOperations through their phases.
type Controller struct {
	cfg     Config
	cluster Cluster
	log     *slog.Logger
	now     func() time.Time
	lastGC  time.Time
}

// New returns a controller; Run starts it.
func New(cfg Config, cluster Cluster) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vmop controller config: %w", err)
	}
	if cluster == nil {
		return nil, errors.New("vmop controller: cluster must not be nil")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Controller{cfg: cfg, cluster: cluster, log: log.With("component", "vmop"), now: now}, nil
}

// Run reconciles while this agent leads, until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for {
		if c.cluster.IsLeader() {
			c.Pass(ctx)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Pass runs one reconcile pass over every operation, and the GC when it is
// due. It does not check leadership: Run does.
func (c *Controller) Pass(ctx context.Context) {
	now := c.now()
	w := readWorld(c.cluster)
	for _, op := range w.ordered {
		if ctx.Err() != nil {
			return
		}
		c.reconcile(ctx, w, op, now)
	}
	if now.Sub(c.lastGC) >= c.cfg.GCInterval {
		if c.collect(ctx, w, now) {
			c.lastGC = now
		}
	}
}
