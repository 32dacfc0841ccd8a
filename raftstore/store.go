package raftstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"davit/api"
)

// logCacheSize is how many recent log entries stay in memory in front of
// the bolt store.
const logCacheSize = 512

// Store is one server of the replicated store: Raft, its storage and
// transport, the FSM and its state, the watch history and leadership
// notifications. Every method is safe for concurrent use.
type Store struct {
	cfg    Config
	log    *slog.Logger
	state  *state
	hub    *hub
	fsm    *fsm
	raft   *raft.Raft
	trans  *raft.NetworkTransport
	stream *streamLayer
	bolt   *raftboltdb.BoltStore

	notifyCh chan bool // raft's leadership notifications
	leaders  leadership

	mu      sync.RWMutex // guards closed, so no goroutine starts after Close
	closed  bool
	stopCh  chan struct{}
	wg      sync.WaitGroup // long-lived goroutines
	waiters sync.WaitGroup // goroutines waiting on raft futures for a ctx-bound caller

	closeOnce sync.Once
	closeErr  error
}

// New opens (or creates) the Raft storage under cfg.DataDir/raft, starts the
// transport on cfg.RaftAddr and Raft, restoring the latest snapshot, and
// bootstraps a one-server cluster when cfg.Bootstrap is set and no state
// exists. On error everything it opened is closed again.
func New(cfg Config) (_ *Store, err error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, err := newState()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, log: cfg.Logger, state: st, hub: newHub(cfg.WatchHistory),
		notifyCh: make(chan bool, 8), stopCh: make(chan struct{})}
	s.fsm = &fsm{log: cfg.Logger.With("component", "fsm"), state: st, hub: s.hub}

	var undo []func() error
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				if cerr := undo[i](); cerr != nil {
					s.log.Warn("cleanup after failed start", "error", cerr)
				}
			}
		}
	}()
	raftDir := filepath.Join(cfg.DataDir, "raft")
	if err := os.MkdirAll(raftDir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft dir: %w", err)
	}
	dbPath := filepath.Join(raftDir, "raft.db")
	// The timeout turns a second store on the same directory into an error
	// instead of a wait for bolt's file lock.
	s.bolt, err = raftboltdb.New(raftboltdb.Options{Path: dbPath, BoltOptions: &bbolt.Options{Timeout: time.Second}})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", dbPath, err)
	}
	undo = append(undo, s.bolt.Close)
	logs, err := raft.NewLogCache(logCacheSize, s.bolt)
	if err != nil {
		return nil, fmt.Errorf("create log cache: %w", err)
	}
	hl := newHclog(cfg.Logger, "raft")
	snaps, err := raft.NewFileSnapshotStoreWithLogger(raftDir, cfg.SnapshotRetain, hl.Named("snapshots"))
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	if s.trans, s.stream, err = newTransport(cfg, hl); err != nil {
		return nil, err
	}
	undo = append(undo, s.trans.Close)
	rc := s.raftConfig(hl)
	if err := bootstrap(cfg, rc, logs, s.bolt, snaps, s.trans); err != nil {
		return nil, err
	}
	if s.raft, err = raft.NewRaft(rc, s.fsm, logs, s.bolt, snaps, s.trans); err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	s.wg.Add(1)
	go s.runLeadership()
	return s, nil
}

func (s *Store) raftConfig(hl hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.NodeID)
	rc.Logger = hl
	rc.NotifyCh = s.notifyCh
	rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	rc.SnapshotInterval = s.cfg.SnapshotInterval
	rc.TrailingLogs = s.cfg.TrailingLogs
	rc.HeartbeatTimeout = s.cfg.HeartbeatTimeout
	rc.ElectionTimeout = s.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = s.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = s.cfg.CommitTimeout
	return rc
}

// bootstrap makes a one-server configuration of this node when asked to and
// no Raft state exists yet.
func bootstrap(cfg Config, rc *raft.Config, logs raft.LogStore, stable raft.StableStore,
	snaps raft.SnapshotStore, trans raft.Transport) error {
	if !cfg.Bootstrap {
		return nil
	}
	exists, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("check raft state: %w", err)
	}
	if exists {
		return nil
	}
	conf := raft.Configuration{Servers: []raft.Server{
		{Suffrage: raft.Voter, ID: rc.LocalID, Address: trans.LocalAddr()},
	}}
	if err := raft.BootstrapCluster(rc, logs, stable, snaps, trans, conf); err != nil {
		return fmt.Errorf("bootstrap cluster: %w", err)
	}
	return nil
}

// Close shuts Raft down, ends every watch, closes the transport and the log
// store, and waits for the goroutines the store started. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		var errs []error
		if err := s.raft.Shutdown().Error(); err != nil {
			errs = append(errs, fmt.Errorf("shut down raft: %w", err))
		}
		close(s.stopCh)
		s.hub.close()
		s.wg.Wait()
		s.leaders.closeAll()
		s.waitWaiters()
		if err := s.trans.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close transport: %w", err))
		}
		s.trans.CloseStreams() // our connections to peers: their handlers end
		if !s.stream.wait(s.cfg.TransportTimeout) {
			s.log.Warn("raft connection handlers did not end in time")
		}
		if err := s.bolt.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close raft log: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// waitWaiters waits for goroutines blocked on raft futures. Raft resolves
// every future at shutdown except entries already queued for its FSM
// goroutine, which it drops; a waiter on one of those cannot end, so the
// wait is bounded.
func (s *Store) waitWaiters() {
	done := make(chan struct{})
	go func() { s.waiters.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.TransportTimeout):
		s.log.Warn("raft dropped futures at shutdown; their waiters are left behind")
	}
}

// wait waits for a raft future, or for ctx, or for Close.
func (s *Store) wait(ctx context.Context, f raft.Future) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.waiters.Add(1)
	s.mu.RUnlock()
	done := make(chan error, 1)
	go func() {
		defer s.waiters.Done()
		done <- f.Error()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("outcome unknown: %w", ctx.Err())
	case <-s.stopCh:
		return fmt.Errorf("outcome unknown: %w", ErrClosed)
	}
}

// timeout turns ctx's deadline into raft's enqueue timeout (0: none).
func timeout(ctx context.Context) (time.Duration, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0, ctx.Err()
	}
	d := time.Until(dl)
	if d <= 0 {
		return 0, context.DeadlineExceeded
	}
	return d, ctx.Err()
}

// raftErr maps raft's errors to this package's: not-leader errors become a
// *NotLeaderError naming the leader, shutdown becomes ErrClosed.
func (s *Store) raftErr(op string, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%s: %w", op, s.notLeader())
	case errors.Is(err, raft.ErrRaftShutdown):
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func (s *Store) notLeader() *NotLeaderError {
	addr, id := s.raft.LeaderWithID()
	return &NotLeaderError{LeaderAddr: string(addr), LeaderID: string(id)}
}

// leaderOnly fails with a *NotLeaderError unless this node leads (with
// ErrClosed after Close).
func (s *Store) leaderOnly(op string) error {
	switch s.raft.State() {
	case raft.Leader:
		return nil
	case raft.Shutdown:
		return fmt.Errorf("%s: %w", op, ErrClosed)
	default:
		return fmt.Errorf("%s: %w", op, s.notLeader())
	}
}

// Apply encodes cmd and applies it through the log; see ApplyRaw.
func (s *Store) Apply(ctx context.Context, cmd Command) (*Result, error) {
	b, err := EncodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	return s.ApplyRaw(ctx, b)
}

// ApplyRaw appends an encoded command (from EncodeCommand, possibly
// forwarded by a follower) to the log and returns its Result once it is
// committed and applied here. It only works on the leader: elsewhere it
// fails with a *NotLeaderError. When the command itself fails, the Result
// is returned along with its Err. When ctx ends first, the error wraps
// ctx.Err() and the command may still be applied.
func (s *Store) ApplyRaw(ctx context.Context, entry []byte) (*Result, error) {
	if err := s.leaderOnly("apply"); err != nil {
		return nil, err
	}
	if len(entry) > 0 && commandNames[CommandType(entry[0])] != "" {
		// A malformed command of a known type would only fail in the FSM:
		// keep it out of the log. Unknown types go in; the FSM decides.
		if _, _, err := s.fsm.decode(entry); err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
	}
	d, err := timeout(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	f := s.raft.Apply(entry, d)
	if err := s.wait(ctx, f); err != nil {
		return nil, s.raftErr("apply", err)
	}
	switch r := f.Response().(type) {
	case nil:
		return &Result{Index: f.Index(), Outcome: OutcomeIgnored}, nil
	case *Result:
		out := *r
		if out.Object != nil {
			out.Object = out.Object.DeepCopy()
		}
		return &out, out.Err
	default:
		return nil, fmt.Errorf("apply: unexpected FSM response %T", r)
	}
}

// ConsistentRead makes the local state at least as new as every write
// committed before the call, on the leader: it appends a Raft barrier, which
// commits only while this node still leads and returns once every earlier
// entry is applied. (Comparing the applied index with the commit index does
// not work here: Raft's own no-op and barrier entries never reach the FSM,
// and a new leader's commit index can lag.) On a follower it fails with a
// *NotLeaderError; the caller forwards the read.
func (s *Store) ConsistentRead(ctx context.Context) error {
	if err := s.leaderOnly("consistent read"); err != nil {
		return err
	}
	return s.Barrier(ctx)
}

// Barrier waits until every entry appended before it is applied (leader
// only).
func (s *Store) Barrier(ctx context.Context) error {
	d, err := timeout(ctx)
	if err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	if err := s.wait(ctx, s.raft.Barrier(d)); err != nil {
		return s.raftErr("barrier", err)
	}
	return nil
}

// VerifyLeader checks with a quorum that this node still leads.
func (s *Store) VerifyLeader(ctx context.Context) error {
	if err := s.leaderOnly("verify leader"); err != nil {
		return err
	}
	if err := s.wait(ctx, s.raft.VerifyLeader()); err != nil {
		return s.raftErr("verify leader", err)
	}
	return nil
}

// Get returns a copy of one object from the local state, or an error
// wrapping ErrNotFound (or ErrUnknownKind). kind is any name of a kind.
func (s *Store) Get(kind, namespace, name string) (*api.Object, error) {
	return s.state.Get(kind, namespace, name)
}

// List returns copies of the objects of a kind in namespace ("" for all)
// for which match (nil for all) holds, sorted by namespace and name, with the
// index of the state they were read at (a watch from it misses nothing).
// match sees the stored objects and must neither modify nor keep them. An
// unknown kind lists nothing.
func (s *Store) List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64) {
	objs, index, err := s.state.List(kind, namespace, match)
	if err != nil {
		s.log.Debug("list", "error", err)
	}
	return objs, index
}

// ListByNode lists the objects of a kind whose status.nodeName is node.
func (s *Store) ListByNode(kind, node string) ([]*api.Object, uint64) {
	objs, index, err := s.state.listBy(kind, indexNode, node, nil)
	if err != nil {
		s.log.Debug("list by node", "error", err)
	}
	return objs, index
}

// ListByPhase lists the objects of a kind whose status.phase is phase.
func (s *Store) ListByPhase(kind, phase string) ([]*api.Object, uint64) {
	objs, index, err := s.state.listBy(kind, indexPhase, phase, nil)
	if err != nil {
		s.log.Debug("list by phase", "error", err)
	}
	return objs, index
}

// AppliedIndex returns the Raft index of the last entry applied to the local
// state.
func (s *Store) AppliedIndex() uint64 { return s.state.index() }

// Leader returns the current leader's address and ID ("" when unknown).
func (s *Store) Leader() (addr, id string) {
	a, i := s.raft.LeaderWithID()
	return string(a), string(i)
}

// IsLeader reports whether this node is the leader now.
func (s *Store) IsLeader() bool { return s.raft.State() == raft.Leader }

// State returns this node's Raft state: "Follower", "Candidate", "Leader"
// or "Shutdown".
func (s *Store) State() string { return s.raft.State().String() }

// LocalAddr returns the address other servers reach this one at.
func (s *Store) LocalAddr() string { return string(s.trans.LocalAddr()) }

// NodeID returns this server's Raft ID.
func (s *Store) NodeID() string { return s.cfg.NodeID }

// Raft returns the underlying Raft instance, for what this package does not
// wrap (autopilot, leadership transfer). Do not Shutdown it; Close the Store.
func (s *Store) Raft() *raft.Raft { return s.raft }

// WaitLeader waits until a leader is known and returns it.
func (s *Store) WaitLeader(ctx context.Context) (addr, id string, err error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if addr, id = s.Leader(); id != "" {
			return addr, id, nil
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-s.stopCh:
			return "", "", fmt.Errorf("wait for leader: %w", ErrClosed)
		case <-t.C:
		}
	}
}

// Stats is a summary of this server's Raft state, for /v1/status.
type Stats struct {
	NodeID     string `json:"nodeName"`
	State      string `json:"raftState"`
	LeaderAddr string `json:"leaderAddr"`
	LeaderID   string `json:"leader"`
	Term       uint64 `json:"term"`
	// CommitIndex and AppliedIndex are Raft's; StateIndex is the index of
	// the last entry the local state applied (what List returns).
	CommitIndex       uint64   `json:"commitIndex"`
	AppliedIndex      uint64   `json:"appliedIndex"`
	LastIndex         uint64   `json:"lastIndex"`
	StateIndex        uint64   `json:"stateIndex"`
	LastSnapshotIndex uint64   `json:"lastSnapshotIndex"`
	Peers             []Server `json:"peers"`
}

// Stats returns the current Stats.
func (s *Store) Stats() Stats {
	addr, id := s.Leader()
	snap, _ := strconv.ParseUint(s.raft.Stats()["last_snapshot_index"], 10, 64) // always a number
	peers, err := s.Servers()
	if err != nil {
		s.log.Debug("stats: servers", "error", err)
	}
	return Stats{
		NodeID: s.cfg.NodeID, State: s.State(), LeaderAddr: addr, LeaderID: id,
		Term: s.raft.CurrentTerm(), CommitIndex: s.raft.CommitIndex(),
		AppliedIndex: s.raft.AppliedIndex(), LastIndex: s.raft.LastIndex(),
		StateIndex: s.AppliedIndex(), LastSnapshotIndex: snap, Peers: peers,
	}
}

// Snapshot makes Raft take a snapshot now (and compact its log).
func (s *Store) Snapshot() error {
	if err := s.raft.Snapshot().Error(); err != nil {
		return s.raftErr("snapshot", err)
	}
	return nil
}
