package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"davit/agent/httpapi"
	"davit/api"
	"davit/qemu"
)

// Wire names of the console upgrade.
const (
	// Pattern is the route the agent mounts the Handler on.
	Pattern = "GET /v1/namespaces/{ns}/virtualmachines/{name}/console"
	// Protocol is the Upgrade token.
	Protocol = "davit-console"
	// ForwardedHeader marks a request one agent sent to the VM's owner; its
	// value is the forwarding node's name.
	ForwardedHeader = "X-Davit-Console-Forwarded"
)

// ErrNotFound is what Cluster.VM wraps when the VM does not exist.
var ErrNotFound = errors.New("not found")

// VM is what the console needs to know of a VirtualMachine.
type VM struct {
	UID      string
	NodeName string // status.nodeName; "" while unplaced
	Phase    string // status.phase
}

// Cluster is the agent as the console sees it. Its methods are called
// concurrently from every request.
type Cluster interface {
	// VM reads a VirtualMachine; an error wrapping ErrNotFound when absent.
	VM(namespace, name string) (VM, error)
	// NodeName is this agent's node.
	NodeName() string
	// NodeHTTPAddr is a node's API address (host:port), "" when unknown.
	NodeHTTPAddr(node string) string
	// DataDir is this agent's data directory (VMs live in DATA/vms/<uid>).
	DataDir() string
}

// Config tunes the Handler.
type Config struct {
	Logger *slog.Logger
	// DialTimeout bounds connecting to the owning node's agent.
	DialTimeout time.Duration
	// HandshakeTimeout bounds the owning node's answer to the upgrade.
	HandshakeTimeout time.Duration
}

// DefaultConfig returns the defaults: 5s to dial, 10s for the handshake.
func DefaultConfig() Config {
	return Config{Logger: slog.New(slog.DiscardHandler), DialTimeout: 5 * time.Second, HandshakeTimeout: 10 * time.Second}
}

// Handler serves console upgrades. Close ends every session.
type Handler struct {
	cfg     Config
	cluster Cluster
	ctx     context.Context // ends with Close; every session derives from it
	cancel  context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // one per session
}

// New returns a Handler serving cluster's VMs.
func New(cfg Config, cluster Cluster) (*Handler, error) {
	if cluster == nil {
		return nil, errors.New("new console handler: cluster is nil")
	}
	if cfg.DialTimeout <= 0 {
		return nil, fmt.Errorf("new console handler: DialTimeout %v must be positive", cfg.DialTimeout)
	}
	if cfg.HandshakeTimeout <= 0 {
		return nil, fmt.Errorf("new console handler: HandshakeTimeout %v must be positive", cfg.HandshakeTimeout)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Handler{cfg: cfg, cluster: cluster, ctx: ctx, cancel: cancel}, nil
}

// Close ends every open session and waits for them; later requests get
// 503. Safe to call more than once.
func (h *Handler) Close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
}

// begin registers a session; it fails once Close has been called.
func (h *Handler) begin() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// attachable lists the phases in which a VM has a QEMU with a console.
var attachable = map[api.VMPhase]bool{api.VMStarting: true, api.VMRunning: true, api.VMStopping: true,
	api.VMMigrating: true, api.VMPause: true}

// ServeHTTP checks the request and the VM, then attaches locally or
// proxies to the owning node.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if !isUpgrade(r) {
		writeError(w, http.StatusBadRequest, "BadRequest", "", "",
			"the console needs the headers \"Connection: Upgrade\" and \"Upgrade: %s\"", Protocol)
		return
	}
	vm, err := h.cluster.VM(ns, name)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "NotFound", "VirtualMachine", name, "VM %s/%s not found", ns, name)
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "", "", "read VM %s/%s: %v", ns, name, err)
		return
	}
	if vm.NodeName == "" || !attachable[api.VMPhase(vm.Phase)] {
		writeError(w, http.StatusConflict, "Conflict", "VirtualMachine", name,
			"VM %s/%s is not running (phase %s)", ns, name, phaseOf(vm))
		return
	}
	if !h.begin() {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "", "", "the agent is shutting down")
		return
	}
	defer h.wg.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.ctx, cancel)
	defer stop()
	self := h.cluster.NodeName()
	switch {
	case vm.NodeName == self:
		h.attachLocal(ctx, w, r, ns, name, vm)
	case r.Header.Get(ForwardedHeader) != "":
		writeError(w, http.StatusConflict, "Conflict", "VirtualMachine", name,
			"VM %s/%s is on node %s as node %s sees it, not here (%s); a forwarded console request is not forwarded again",
			ns, name, vm.NodeName, r.Header.Get(ForwardedHeader), self)
	default:
		h.proxy(ctx, w, r, ns, name, vm.NodeName)
	}
}

func phaseOf(vm VM) string {
	if vm.Phase == "" {
		return "unknown"
	}
	return vm.Phase
}

// attachLocal upgrades and copies between the client and QEMU's socket.
func (h *Handler) attachLocal(ctx context.Context, w http.ResponseWriter, r *http.Request, ns, name string, vm VM) {
	sock := qemu.PathsFor(h.cluster.DataDir(), vm.UID).ConsoleSocket()
	if _, err := os.Stat(sock); err != nil {
		writeError(w, http.StatusConflict, "Conflict", "VirtualMachine", name,
			"VM %s/%s has no console on node %s yet: %v", ns, name, vm.NodeName, err)
		return
	}
	conn, err := upgrade(w)
	if err != nil {
		h.cfg.Logger.Warn("console upgrade failed", "vm", ns+"/"+name, "err", err)
		return
	}
	defer conn.Close()
	log := h.cfg.Logger.With("vm", ns+"/"+name, "remote", r.RemoteAddr)
	log.Info("console attached")
	if err := qemu.AttachConsole(ctx, sock, conn); err != nil {
		log.Warn("console ended", "err", err)
		_, _ = fmt.Fprintf(conn, "\r\ndavit: %v\r\n", err) // the user's terminal is the only place to say it
		return
	}
	log.Info("console detached")
}

// writeError sends an httpapi.Status, as every other API error.
func writeError(w http.ResponseWriter, code int, reason, kind, name, format string, args ...any) {
	st := httpapi.Status{Kind: "Status", Status: "Failure", Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
	if kind != "" {
		st.Details = &httpapi.StatusDetails{Kind: kind, Name: name}
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(st) // the client hung up; nothing left to tell it
}
