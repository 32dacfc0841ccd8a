package vmctl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"davit/agent/view"
	"davit/api"
	"davit/cgroup"
	"davit/qemu"
)

// Cluster is what the controller needs from its agent.
type Cluster interface {
	view.Cluster
	// CaughtUp reports whether the local state has applied everything
	// committed before this agent started: until then a VM placed here
	// may look placed nowhere, so no local QEMU is judged.
	CaughtUp() bool
}

// Blobs puts image blobs on this node (imagectl.Controller.LocalBlob).
type Blobs interface {
	LocalBlob(ctx context.Context, digest string) (string, error)
}

// Config configures a Controller.
type Config struct {
	// NodeName is this agent's node.
	NodeName string
	// QEMU is how this node runs QEMU (DataDir/vms/<uid>); its Placement
	// is set by New from Cgroups.
	QEMU qemu.Config
	// Accelerator is the resolved accelerator VMs run with here.
	Accelerator qemu.Accelerator
	// ResolveCPU turns a class into QEMU's -cpu argument on this node
	// (cpuinfo.CPUArg with this node's facts). nil: QEMU's default model.
	ResolveCPU func(class *api.VirtualMachineClass) (string, error)
	// Blobs fetches image blobs onto this node.
	Blobs Blobs
	// Cgroups, when set, puts each VM in its own group (coreFraction
	// weight, CFS quota, memory limit); Allocator hands out dedicated
	// CPUs (nil: VMs asking for dedicated cores cannot start here).
	Cgroups   cgroup.Manager
	Allocator *cgroup.Allocator
	// Resync is how often the passes run when no change wakes them (the
	// clock matters too: backoffs and operation deadlines).
	Resync time.Duration
	// BackoffMin and BackoffMax bound the wait before restarting a VM
	// whose QEMU failed or crashed; it doubles with each failure in a row.
	BackoffMin, BackoffMax time.Duration
	// StableAfter: an instance that ran this long resets the backoff.
	StableAfter time.Duration
	// Logger receives the controller's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns davit's defaults for dataDir.
func DefaultConfig(dataDir string) Config {
	return Config{
		QEMU:        qemu.DefaultConfig(dataDir),
		Accelerator: qemu.AccelTCG,
		Resync:      time.Second,
		BackoffMin:  time.Second,
		BackoffMax:  time.Minute,
		StableAfter: time.Minute,
	}
}

// Validate names every bad field and its value.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("nodeName: must not be empty"))
	}
	if c.QEMU.DataDir == "" {
		errs = append(errs, errors.New("qemu.dataDir: must not be empty"))
	}
	if c.Accelerator != qemu.AccelKVM && c.Accelerator != qemu.AccelTCG {
		errs = append(errs, fmt.Errorf("accelerator: %q is not kvm or tcg", c.Accelerator))
	}
	if c.Blobs == nil {
		errs = append(errs, errors.New("blobs: must be set"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"resync", c.Resync}, {"backoffMin", c.BackoffMin}, {"backoffMax", c.BackoffMax}, {"stableAfter", c.StableAfter}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: %s must be positive", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}

// Controller runs the VM controllers of one agent.
type Controller struct {
	cfg     Config
	cluster Cluster
	log     *slog.Logger
	wake    chan struct{}

	mu  sync.Mutex
	vms map[string]*local // by VM uid: the instances on this node
	wg  sync.WaitGroup    // start and stop jobs, exit watchers
}

// local is this node's record of one VM.
type local struct {
	inst      *qemu.Instance
	startedAt time.Time
	// busy: a start or stop job runs; the pass leaves the VM alone.
	busy bool
	// stopping: davit is stopping the instance (its exit is expected).
	stopping bool
	// unrecorded is a start whose status write has not landed yet.
	unrecorded *startFacts
	// restartedFor is the Restart operation this node started the
	// instance for (status.restartedBy, known before that write lands).
	restartedFor string
	// evicting: the instance was stopped because the VM no longer fits
	// this node; the VM goes back to the leader instead of restarting here.
	evicting bool
	// failures in a row, and when the next start may be tried.
	failures int
	retryAt  time.Time
	// vm is the VM a start job is starting (read by the placement).
	vm *api.VirtualMachine
	// namespace and name of the VM (for metrics); usageAt is when
	// status.usage was last written (only the pass touches it).
	namespace, name string
	usageAt         time.Time
}

// New returns a controller; Run starts it.
func New(cfg Config, cluster Cluster) (*Controller, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("vm controller config: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Controller{cfg: cfg, cluster: cluster, log: log, wake: make(chan struct{}, 1), vms: map[string]*local{}}
	if cfg.Cgroups != nil {
		c.cfg.QEMU.Placement = &placement{c: c}
	}
	if c.cfg.QEMU.Logger == nil {
		c.cfg.QEMU.Logger = log
	}
	return c, nil
}

// Run re-attaches to the QEMU processes of this node, then runs the passes
// until ctx ends. It returns after every job has ended, with every
// instance detached (QEMU keeps running).
func (c *Controller) Run(ctx context.Context) error {
	for !c.cluster.CaughtUp() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.cfg.Resync):
		}
	}
	c.adopt(ctx)
	c.startFollowing(ctx)
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for {
		if c.cluster.IsLeader() {
			c.leaderPass(ctx)
		}
		c.nodePass(ctx)
		select {
		case <-ctx.Done():
			c.wg.Wait()
			c.detachAll()
			return nil
		case <-tick.C:
		case <-c.wake:
		}
	}
}

// poke wakes the passes (an instance exited, a job ended).
func (c *Controller) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// detachAll closes every instance handle; QEMU keeps running.
func (c *Controller) detachAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.vms {
		if l.inst != nil {
			_ = l.inst.Close()
		}
	}
}

// watch pokes the passes as soon as inst's QEMU exits.
func (c *Controller) watch(ctx context.Context, inst *qemu.Instance) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-inst.Done():
			c.poke()
		case <-ctx.Done():
		}
	}()
}

// Running returns the live instance of VM uid on this node, or nil.
func (c *Controller) Running(uid string) *qemu.Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.vms[uid]; l != nil && l.inst != nil && l.inst.Exit() == nil {
		return l.inst
	}
	return nil
}

// backoff is the wait after n failures in a row.
func (c *Controller) backoff(n int) time.Duration {
	d := c.cfg.BackoffMin
	for i := 1; i < n && d < c.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, c.cfg.BackoffMax)
}
