package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"davit/agent/diskctl"
	"davit/agent/httpapi"
	"davit/agent/imagectl"
	"davit/agent/vmctl"
	"davit/cpuinfo"
	"davit/raftstore"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Agent is one davit daemon. Create it with New, run it with Run.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	store   *raftstore.Store
	api     *httpapi.Server
	reg     *prometheus.Registry
	http    *http.Server
	ln      net.Listener
	started time.Time
	token   string
	peers   *http.Client
	beats   heartbeats
	images  *imagectl.Controller // image imports, replicas and uploads (images.go)
	disks   *diskctl.Controller  // VirtualDisk files on storage classes (disks.go)
	vms     *vmctl.Controller    // VM placement and this node's QEMU processes (vms.go)
	// cpuFacts are this node's CPU facts once loaded (nil before).
	cpuFacts atomic.Pointer[cpuinfo.Facts]
	// applyLatency observes each write from submission to committed result.
	applyLatency prometheus.Histogram
	// caughtUp is set once the local state has applied everything the
	// cluster had committed when this agent started (readiness).
	caughtUp atomic.Bool

	wg   sync.WaitGroup
	stop context.CancelFunc
}

// New opens the agent's state and binds its listeners. It does not serve
// yet; Run does. On error everything New opened is closed again.
func New(cfg Config, log *slog.Logger) (_ *Agent, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	a := &Agent{cfg: cfg, log: log, reg: prometheus.NewRegistry(), started: time.Now(),
		peers: &http.Client{Timeout: 15 * time.Second}}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()
	a.applyLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "davit_raft_apply_duration_seconds",
		Help:    "Time from submitting a write to its committed, applied result (forwarding included).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), a.applyLatency)
	if a.token, err = loadOrCreateToken(filepath.Join(cfg.DataDir, "join-token"), cfg.JoinToken); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("listen http %s: %w", cfg.HTTPAddr, err)
	}
	a.ln = ln
	store, err := a.openStore()
	if err != nil {
		return nil, err
	}
	a.store = store
	a.reg.MustRegister(newStoreCollector(a.store))
	apiCfg := httpapi.DefaultConfig()
	apiCfg.MaxBodyBytes, apiCfg.Logger = cfg.MaxBodyBytes, log
	a.api = httpapi.New(apiCfg, &backend{a: a}, a, &admitter{store: a.store}, a.reg)
	a.mountInternal()
	if err := a.mountImages(); err != nil {
		return nil, err
	}
	if err := a.mountDisks(); err != nil {
		return nil, err
	}
	if a.vms, err = a.vmController(); err != nil {
		return nil, err
	}
	a.reg.MustRegister(newVMCollector(a.vms))
	a.http = &http.Server{Handler: a.api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if err := a.mountConsole(); err != nil { // after a.http: it registers a shutdown hook
		return nil, err
	}
	return a, nil
}

// Run serves until ctx ends (SIGTERM), then shuts down cleanly.
func (a *Agent) Run(ctx context.Context) error {
	ctx, a.stop = context.WithCancel(ctx)
	defer a.stop()
	serveErr := make(chan error, 1)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
			serveErr <- fmt.Errorf("serve http: %w", err)
		}
	}()
	if err := a.joinIfAsked(ctx); err != nil {
		a.shutdown()
		return err
	}
	a.startLoops(ctx)
	a.log.Info("agent serving", "node", a.cfg.NodeName, "http", a.ln.Addr().String(), "raft", a.cfg.RaftAddr,
		"dataDir", a.cfg.DataDir, "version", a.cfg.Version)
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		a.log.Warn("sd_notify failed", "err", err)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
	a.shutdown()
	return err
}

// HTTPAddr is the address the API listens on (useful with port 0).
func (a *Agent) HTTPAddr() string { return a.ln.Addr().String() }

func (a *Agent) shutdown() {
	if a.stop != nil {
		a.stop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.http.Shutdown(sctx) // ends idle connections; watches end with their contexts
	a.wg.Wait()
	a.closeAll()
	a.log.Info("agent stopped")
}

func (a *Agent) closeAll() {
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Warn("close store", "err", err)
		}
		a.store = nil
	}
	if a.ln != nil {
		_ = a.ln.Close()
	}
}
