package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// Config is how this node runs QEMU. DefaultConfig fills in the timeouts.
type Config struct {
	// DataDir is the agent's data directory; VMs live in DataDir/vms/<uid>.
	DataDir string
	// Binary is the QEMU executable; default qemu-system-x86_64 on PATH.
	Binary string
	// Logger receives the start steps and lifecycle events; default
	// discards.
	Logger *slog.Logger
	// Placement, when set, is called with QEMU's PID and vCPU threads
	// before the vCPUs start (cgroups). nil: QEMU stays where it starts.
	Placement Placement
	// StartTimeout bounds Start from exec to QMP "running"; default 60 s.
	StartTimeout time.Duration
	// QMPTimeout bounds each QMP command; default 10 s.
	QMPTimeout time.Duration
	// KillTimeout is how long Stop waits for QEMU to exit after quit, and
	// again after SIGKILL; default 5 s.
	KillTimeout time.Duration
	// PowerdownInterval: during a Stop's grace period the ACPI power
	// button is pressed again this often (a press the guest missed while
	// booting is lost); default 5 s.
	PowerdownInterval time.Duration
}

// DefaultConfig returns a Config for dataDir with the default timeouts.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir:           dataDir,
		StartTimeout:      60 * time.Second,
		QMPTimeout:        10 * time.Second,
		KillTimeout:       5 * time.Second,
		PowerdownInterval: 5 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig(c.DataDir)
	if c.StartTimeout <= 0 {
		c.StartTimeout = d.StartTimeout
	}
	if c.QMPTimeout <= 0 {
		c.QMPTimeout = d.QMPTimeout
	}
	if c.KillTimeout <= 0 {
		c.KillTimeout = d.KillTimeout
	}
	if c.PowerdownInterval <= 0 {
		c.PowerdownInterval = d.PowerdownInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// dialRetryInterval is how often Start (and the bare launch it is
// compared with) tries QEMU's QMP socket while QEMU starts.
const dialRetryInterval = 5 * time.Millisecond

// Paths returns where VM uid's files are under this config.
func (c Config) Paths(uid string) Paths {
	p := PathsFor(c.DataDir, uid)
	p.Binary = c.Binary
	return p
}

func (c Config) monitorOptions(log *slog.Logger, onEvent func(Event)) MonitorOptions {
	return MonitorOptions{CommandTimeout: c.QMPTimeout, RetryInterval: dialRetryInterval, Logger: log, OnEvent: onEvent}
}

// Placement puts a started QEMU where it belongs (the VM's cgroup, vCPU
// threads pinned); davit/cgroup implements it. Start calls Place after QMP
// answers and before the vCPUs run. A placement that creates something it
// must remove when a later step fails also implements PlacementReleaser.
type Placement interface {
	Place(ctx context.Context, vm Placed) error
}

// PlacementReleaser is the optional undo of a Placement, called after
// QEMU is killed when Place itself or a later start step fails. It must
// tolerate a Place that created nothing (idempotent).
type PlacementReleaser interface {
	Release(ctx context.Context, uid string) error
}

// PlacementFunc adapts a function to Placement.
type PlacementFunc func(ctx context.Context, vm Placed) error

// Place calls f.
func (f PlacementFunc) Place(ctx context.Context, vm Placed) error { return f(ctx, vm) }

// Placed is what a Placement gets: the VM, its QEMU PID and its vCPU
// threads (from query-cpus-fast).
type Placed struct {
	UID   string
	Name  string
	PID   int
	VCPUs []VCPU
}

// Exit is how a QEMU process ended.
type Exit struct {
	PID int
	At  time.Time
	// Status is "exit status N" or "signal: killed" when QEMU was our
	// child; "" when it was not (after a re-attach) and it is unknown.
	Status string
	// Shutdown is the last SHUTDOWN event QMP reported before the exit;
	// nil when there was none: QEMU crashed or was killed.
	Shutdown *Shutdown
	// Stderr is the tail of qemu.log.
	Stderr string
}

// Crashed reports whether QEMU ended without a SHUTDOWN event (killed,
// crashed, or failed to start).
func (e *Exit) Crashed() bool { return e.Shutdown == nil }

// GuestPoweroff reports whether the guest powered itself off.
func (e *Exit) GuestPoweroff() bool {
	return e.Shutdown != nil && e.Shutdown.Guest && e.Shutdown.Reason == "guest-shutdown"
}

// Error describes the exit for a condition message, QEMU's stderr last.
func (e *Exit) Error() string {
	msg := fmt.Sprintf("QEMU (pid %d) exited", e.PID)
	if e.Status != "" {
		msg += " (" + e.Status + ")"
	}
	if e.Shutdown != nil {
		msg += ", shutdown reason " + e.Shutdown.Reason
	} else {
		msg += " without a shutdown event"
	}
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Unwrap makes errors.Is(exit, ErrExited) true.
func (e *Exit) Unwrap() error { return ErrExited }

// Instance is a handle on one running QEMU, from Start or Attach.
type Instance struct {
	cfg   Config
	log   *slog.Logger
	spec  Spec
	paths Paths
	pid   int
	steps []StepTiming

	watch   *procWatch
	watchWG sync.WaitGroup

	mu       sync.Mutex
	mon      *Monitor
	shutdown *Shutdown
	exit     *Exit

	done      chan struct{} // closed when QEMU has exited and exit is set
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
}

func newInstance(cfg Config, spec Spec, paths Paths) *Instance {
	return &Instance{
		cfg:     cfg,
		log:     cfg.Logger.With("vm", spec.Name, "uid", spec.UID),
		spec:    spec,
		paths:   paths,
		done:    make(chan struct{}),
		closing: make(chan struct{}),
	}
}

// Spec is the boot spec QEMU runs (with defaults applied).
func (i *Instance) Spec() Spec { return i.spec }

// Paths are the VM's files.
func (i *Instance) Paths() Paths { return i.paths }

// PID is QEMU's process ID.
func (i *Instance) PID() int { return i.pid }

// Monitor is the QMP connection; nil only while Start is still running.
func (i *Instance) Monitor() *Monitor {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.mon
}

// StartSteps are the steps Start ran, with their durations (nil after
// Attach).
func (i *Instance) StartSteps() []StepTiming { return i.steps }

// Done is closed as soon as QEMU has exited (then Exit is set). It stays
// open after Close when QEMU had not exited by then.
func (i *Instance) Done() <-chan struct{} { return i.done }

// Exit says how QEMU ended; nil while it runs.
func (i *Instance) Exit() *Exit {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.exit
}

// Wait blocks until QEMU exits (returning how), ctx ends, or the handle is
// closed (ErrClosed).
func (i *Instance) Wait(ctx context.Context) (*Exit, error) {
	select {
	case <-i.done:
		return i.Exit(), nil
	case <-i.closing:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startWatch starts the goroutine that notices QEMU's exit.
func (i *Instance) startWatch() error {
	w, err := newProcWatch(i.pid)
	if err != nil {
		return err
	}
	i.watch = w
	i.watchWG.Add(1)
	go func() {
		defer i.watchWG.Done()
		status, exited := w.run()
		if exited {
			i.finish(status)
		}
	}()
	return nil
}

// onEvent records SHUTDOWN events so that the exit can say why.
func (i *Instance) onEvent(e Event) {
	if s, ok := e.Shutdown(); ok {
		i.mu.Lock()
		i.shutdown = &s
		i.mu.Unlock()
	}
	i.log.Debug("QMP event", "event", e.Name, "data", e.Data)
}

// finish records the exit once QEMU is gone. QMP's SHUTDOWN event may
// still be in flight: wait (briefly) for the connection to end first.
func (i *Instance) finish(status string) {
	at := time.Now()
	if mon := i.Monitor(); mon != nil {
		select {
		case <-mon.Lost():
		case <-time.After(time.Second):
		case <-i.closing:
		}
	}
	i.mu.Lock()
	i.exit = &Exit{PID: i.pid, At: at, Status: status, Shutdown: i.shutdown, Stderr: logTail(i.paths.LogFile(), 20)}
	i.mu.Unlock()
	i.log.Info("QEMU exited", "pid", i.pid, "status", status, "shutdown", i.shutdown, "crashed", i.exit.Crashed())
	close(i.done)
}

// StopMethod says what ended a VM in Stop.
type StopMethod string

// Stop methods, in the order Stop tries them.
const (
	StopAlreadyExited StopMethod = "already-exited"
	StopPowerdown     StopMethod = "powerdown"
	StopQuit          StopMethod = "quit"
	StopKill          StopMethod = "kill"
)

// Stop ends the VM: the ACPI power button (system_powerdown, pressed again
// every PowerdownInterval) and up to grace for the guest to power off,
// then QMP quit, then SIGKILL, each waited for up to KillTimeout. A ctx
// that ends cuts the grace period short (the VM still ends: quit, kill).
// It returns the method that ended QEMU; an error only when QEMU survives
// SIGKILL or the handle is closed.
func (i *Instance) Stop(ctx context.Context, grace time.Duration) (StopMethod, error) {
	select {
	case <-i.done:
		return StopAlreadyExited, nil
	case <-i.closing:
		return "", fmt.Errorf("stop %s: %w", i.spec.Name, ErrClosed)
	default:
	}
	mon := i.Monitor()
	press := func(timeout time.Duration) error {
		qctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		return mon.SystemPowerdown(qctx)
	}
	i.log.Info("stopping VM", "grace", grace)
	graceEnd := time.NewTimer(grace)
	defer graceEnd.Stop()
	if err := press(min(i.cfg.QMPTimeout, max(grace, time.Second))); err != nil {
		i.log.Warn("system_powerdown failed; skipping the grace period", "err", err)
	} else {
		again := time.NewTicker(i.cfg.PowerdownInterval)
		defer again.Stop()
	grace:
		for {
			select {
			case <-i.done:
				return StopPowerdown, nil
			case <-graceEnd.C:
				break grace
			case <-ctx.Done():
				break grace
			case <-again.C:
				_ = press(time.Second)
			}
		}
		i.log.Info("guest did not power off in time", "grace", grace)
	}
	qctx, cancel := context.WithTimeout(context.Background(), i.cfg.KillTimeout)
	err := mon.Quit(qctx)
	cancel()
	if err != nil {
		i.log.Warn("QMP quit failed", "err", err)
	}
	// A quit that timed out means QMP hangs: straight to SIGKILL. Any other
	// outcome (answered, or the connection dropped as QEMU went away):
	// give QEMU its time to exit.
	if !errors.Is(err, ErrQMPTimeout) && i.waitDone(i.cfg.KillTimeout) {
		return StopQuit, nil
	}
	if err := i.Kill(); err != nil {
		return "", err
	}
	return StopKill, nil
}

// Kill sends SIGKILL to QEMU and waits up to KillTimeout for its exit.
func (i *Instance) Kill() error {
	select {
	case <-i.done:
		return nil
	case <-i.closing:
		return fmt.Errorf("kill %s: %w", i.spec.Name, ErrClosed)
	default:
	}
	i.log.Warn("killing QEMU", "pid", i.pid)
	if err := i.watch.signal(syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", i.spec.Name, i.pid, err)
	}
	if !i.waitDone(i.cfg.KillTimeout) {
		return fmt.Errorf("kill %s (pid %d): still running %s after SIGKILL", i.spec.Name, i.pid, i.cfg.KillTimeout)
	}
	return nil
}

func (i *Instance) waitDone(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-i.done:
		return true
	case <-t.C:
		return false
	}
}

// Close detaches the handle: it stops the exit watcher and closes QMP.
// QEMU keeps running (Attach finds it again). Safe to call more than once.
func (i *Instance) Close() error {
	var err error
	i.closeOnce.Do(func() {
		close(i.closing)
		if i.watch != nil {
			i.watch.stop()
			i.watchWG.Wait()
		}
		if mon := i.Monitor(); mon != nil {
			err = mon.Close()
		}
	})
	return err
}

// Attach re-attaches to the QEMU running in dir (DATA/vms/<uid>) after an
// agent restart: it reads the boot spec and the pidfile, checks that the
// PID is alive and is this VM's QEMU (its command line names this QMP
// socket), watches it and connects QMP. The guest is not disturbed, and a
// VM still paused (prelaunch) is left paused. ErrNotRunning when there is
// no such QEMU.
func Attach(ctx context.Context, cfg Config, dir string) (*Instance, error) {
	cfg = cfg.withDefaults()
	paths := Paths{Dir: dir, Binary: cfg.Binary}
	b, err := os.ReadFile(paths.SpecFile())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("attach %s: no boot spec: %w", dir, ErrNotRunning)
		}
		return nil, fmt.Errorf("attach %s: %w", dir, err)
	}
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("attach %s: decode boot spec: %w", dir, err)
	}
	pid, err := readPIDFile(paths.PIDFile())
	if err != nil {
		return nil, fmt.Errorf("attach %s: %w", dir, err)
	}
	if pid == 0 || !isQEMUFor(pid, paths.QMPSocket()) {
		return nil, fmt.Errorf("attach %s: pid %d is not its QEMU: %w", dir, pid, ErrNotRunning)
	}
	i := newInstance(cfg, spec, paths)
	i.pid = pid
	if err := i.startWatch(); err != nil {
		return nil, fmt.Errorf("attach %s: %w", dir, err)
	}
	mon, err := DialMonitor(ctx, paths.QMPSocket(), cfg.monitorOptions(i.log, i.onEvent))
	if err != nil {
		_ = i.Close()
		return nil, fmt.Errorf("attach %s: %w", dir, err)
	}
	i.mu.Lock()
	i.mon = mon
	i.mu.Unlock()
	st, err := mon.QueryStatus(ctx)
	if err != nil {
		_ = i.Close()
		return nil, fmt.Errorf("attach %s: %w", dir, err)
	}
	i.log.Info("re-attached to QEMU", "pid", pid, "status", st.Status)
	return i, nil
}
