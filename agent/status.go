package agent

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"davit/api"
	"davit/raftstore"

	"github.com/prometheus/client_golang/prometheus"
)

// openStore opens the Raft store under the data dir. A new agent without
// --join bootstraps a one-node cluster (the embedded default).
func (a *Agent) openStore() (*raftstore.Store, error) {
	rc := raftstore.DefaultConfig()
	rc.NodeID = a.cfg.NodeName
	rc.DataDir = a.cfg.DataDir
	rc.RaftAddr = a.cfg.RaftAddr
	rc.AdvertiseAddr = a.cfg.AdvertiseRaft
	rc.Bootstrap = a.cfg.Join == ""
	rc.SnapshotThreshold = a.cfg.SnapshotThreshold
	rc.TrailingLogs = a.cfg.SnapshotThreshold
	rc.SnapshotInterval = a.cfg.SnapshotInterval.Duration
	rc.Logger = a.log.With("component", "raft")
	s, err := raftstore.New(rc)
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", filepath.Join(a.cfg.DataDir, "raft"), err)
	}
	return s, nil
}

// AgentStatus is the body of GET /v1/status.
type AgentStatus struct {
	NodeName      string   `json:"nodeName"`
	RaftState     string   `json:"raftState"`
	Leader        string   `json:"leader"`
	LeaderAddr    string   `json:"leaderAddr"`
	Term          uint64   `json:"term"`
	AppliedIndex  uint64   `json:"appliedIndex"`
	CommitIndex   uint64   `json:"commitIndex"`
	LastIndex     uint64   `json:"lastIndex"`
	Peers         []string `json:"peers"`
	Version       string   `json:"version"`
	UptimeSeconds int64    `json:"uptimeSeconds"`
	HTTPAddr      string   `json:"httpAddr"`
	RaftAddr      string   `json:"raftAddr"`
	DataDir       string   `json:"dataDir"`
}

// Status reports this agent's view of the cluster.
func (a *Agent) Status() any {
	st := a.store.Stats()
	addr, id := a.store.Leader()
	var peers []string
	if servers, err := a.store.Servers(); err == nil {
		for _, s := range servers {
			peers = append(peers, s.ID+"@"+s.Address)
		}
	}
	return AgentStatus{
		NodeName: a.cfg.NodeName, RaftState: a.store.State(), Leader: id, LeaderAddr: addr,
		Term: st.Term, AppliedIndex: a.store.AppliedIndex(), CommitIndex: st.CommitIndex, LastIndex: st.LastIndex,
		Peers: peers, Version: a.cfg.Version, UptimeSeconds: int64(time.Since(a.started).Seconds()),
		HTTPAddr: a.cfg.AdvertiseHTTP, RaftAddr: a.cfg.AdvertiseRaft, DataDir: a.cfg.DataDir,
	}
}

// Ready is nil when a leader is known and this agent has applied every
// entry it knows to be committed.
func (a *Agent) Ready() error {
	if _, id := a.store.Leader(); id == "" {
		return errors.New("no leader known")
	}
	if !a.caughtUp.Load() {
		return errors.New("catching up with the cluster's committed writes")
	}
	// Raft's applied index (not the state's: Raft's own no-op and barrier
	// entries never reach the FSM) against its commit index.
	if st := a.store.Stats(); st.AppliedIndex < st.CommitIndex {
		return fmt.Errorf("catching up: applied %d of %d", st.AppliedIndex, st.CommitIndex)
	}
	return nil
}

// storeCollector exports object counts per kind and Raft indexes.
type storeCollector struct {
	s       *raftstore.Store
	objects *prometheus.Desc
	applied *prometheus.Desc
}

func newStoreCollector(s *raftstore.Store) *storeCollector {
	return &storeCollector{s: s,
		objects: prometheus.NewDesc("davit_objects", "Objects in the replicated state, by kind.", []string{"kind"}, nil),
		applied: prometheus.NewDesc("davit_raft_applied_index", "Last Raft index applied to the local state.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.objects; ch <- c.applied }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range api.Kinds() {
		objs, _ := c.s.List(k.Kind, "", nil)
		ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(len(objs)), k.Kind)
	}
	ch <- prometheus.MustNewConstMetric(c.applied, prometheus.GaugeValue, float64(c.s.AppliedIndex()))
}
