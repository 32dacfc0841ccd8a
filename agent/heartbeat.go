package agent

import (
	"context"
	"davit/api"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// Node liveness (DESIGN §4): each agent heartbeats the leader every second;
// the leader keeps heartbeats in memory only and writes a node's Ready
// condition when it changes: True, False after nodeGrace of silence, and
// Unknown for one grace period after an election (a new leader has heard
// nobody yet, and assumes every lease may still be valid).
const (
	heartbeatEvery = time.Second
	nodeGrace      = 3 * time.Second
)

// heartbeats is the leader's in-memory record of when each node was last
// heard from. It is reset when this agent becomes leader.
type heartbeats struct {
	mu      sync.Mutex
	last    map[string]beat
	elected time.Time
}

// beat is the last heartbeat of a node: when, and its Raft progress.
type beat struct {
	at    time.Time
	term  uint64
	index uint64
}

// heartbeat is the body of POST /v1/internal/heartbeat.
type heartbeat struct {
	Node  string `json:"node"`
	Term  uint64 `json:"term"`
	Index uint64 `json:"index"`
}

func (h *heartbeats) reset(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last, h.elected = map[string]beat{}, now
}

func (h *heartbeats) beat(node string, now time.Time) { h.record(heartbeat{Node: node}, now) }

func (h *heartbeats) record(hb heartbeat, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = map[string]beat{}
	}
	h.last[hb.Node] = beat{at: now, term: hb.Term, index: hb.Index}
}

// get returns node's last heartbeat.
func (h *heartbeats) get(node string) (beat, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.last[node]
	return b, ok
}

// electedAt is when this agent last became leader.
func (h *heartbeats) electedAt() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.elected
}

// readiness says what the Ready condition of node should be at now.
func (h *heartbeats) readiness(node string, now time.Time) (status, reason, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.last[node]
	t := b.at
	switch {
	case ok && now.Sub(t) <= nodeGrace:
		return "True", "AgentReady", "agent is posting heartbeats"
	case !ok && now.Sub(h.elected) <= nodeGrace:
		return "Unknown", "LeaderElected", "a new leader was elected; waiting for the agent's first heartbeat"
	case !ok:
		return "False", "AgentNotReady", "no heartbeat since the leader was elected"
	}
	return "False", "AgentNotReady", "no heartbeat for " + now.Sub(t).Round(time.Second).String()
}

// sendHeartbeat tells the leader this node is alive.
func (a *Agent) sendHeartbeat(ctx context.Context) {
	if a.store.IsLeader() {
		a.beats.beat(a.cfg.NodeName, time.Now())
		return
	}
	addr, err := a.leaderHTTP(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
	defer cancel()
	st := a.store.Stats()
	hb := heartbeat{Node: a.cfg.NodeName, Term: st.Term, Index: st.LastIndex}
	if _, err := postJSON(ctx, a.peerClient(), addr, "/v1/internal/heartbeat", a.token, hb); err != nil {
		a.log.Debug("heartbeat failed", "leader", addr, "err", err)
	}
}

func (a *Agent) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	if !tokenOK(a.token, r.Header.Get(tokenHeader)) {
		httpError(w, http.StatusForbidden, "Forbidden", "wrong cluster token")
		return
	}
	if !a.store.IsLeader() {
		httpError(w, http.StatusServiceUnavailable, "NotLeader", "this member is not the leader")
		return
	}
	var hb heartbeat
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&hb); err != nil || hb.Node == "" {
		httpError(w, http.StatusBadRequest, "BadRequest", "heartbeat needs a node name")
		return
	}
	a.beats.record(hb, time.Now())
	w.WriteHeader(http.StatusNoContent)
}

// updateNodeConditions (leader) writes each Node's Ready condition when it
// changes.
func (a *Agent) updateNodeConditions(ctx context.Context) {
	now := time.Now()
	nodes, _ := a.store.List("Node", "", nil)
	for _, obj := range nodes {
		var st api.NodeStatus
		_ = json.Unmarshal(obj.Status, &st)
		status, reason, msg := a.beats.readiness(obj.Metadata.Name, now)
		if cur := api.FindCondition(st.Conditions, "Ready"); cur != nil && string(cur.Status) == status && cur.Reason == reason {
			continue
		}
		st.Conditions = api.SetCondition(st.Conditions,
			api.Condition{Type: "Ready", Status: api.ConditionStatus(status), Reason: reason, Message: msg}, now)
		if err := a.writeStatusIfChanged(ctx, obj, st); err != nil {
			a.log.Debug("write node condition", "node", obj.Metadata.Name, "err", err)
		}
	}
}

// lastSeen returns when node last sent a heartbeat to this leader.
func (h *heartbeats) lastSeen(node string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.last[node]
	return b.at, ok
}
