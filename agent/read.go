package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// consistentRead returns once the local state has applied every write that
// was committed when it was called (the Raft "read index" protocol): the
// leader confirms it still leads (VerifyLeader) and reports its applied
// index; this agent then waits until it has applied that far. Without a
// reachable leader it fails with errNoLeader, never with stale data.
func (a *Agent) consistentRead(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.WriteTimeout.Duration)
	defer cancel()
	index, err := a.readIndex(ctx)
	if err != nil {
		return err
	}
	for a.store.AppliedIndex() < index {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: local state did not reach index %d in time", errNoLeader, index)
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func (a *Agent) readIndex(ctx context.Context) (uint64, error) {
	if a.store.IsLeader() {
		if err := a.store.ConsistentRead(ctx); err != nil {
			return 0, fmt.Errorf("%w: %v", errNoLeader, err)
		}
		return a.store.AppliedIndex(), nil
	}
	addr, err := a.leaderHTTP(ctx)
	if err != nil {
		return 0, err
	}
	body, err := postJSON(ctx, a.peerClient(), addr, "/v1/internal/readindex", a.token, struct{}{})
	if err != nil {
		return 0, fmt.Errorf("%w: read index from leader %s: %v", errNoLeader, addr, err)
	}
	var ri struct {
		Index uint64 `json:"index"`
	}
	if err := json.Unmarshal(body, &ri); err != nil {
		return 0, fmt.Errorf("decode read index: %w", err)
	}
	return ri.Index, nil
}

// handleReadIndex answers a follower's read-index request (leader only).
func (a *Agent) handleReadIndex(w http.ResponseWriter, r *http.Request) {
	if !tokenOK(a.token, r.Header.Get(tokenHeader)) {
		httpError(w, http.StatusForbidden, "Forbidden", "wrong cluster token")
		return
	}
	if !a.store.IsLeader() {
		httpError(w, http.StatusServiceUnavailable, "NotLeader", "this member is not the leader")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := a.store.ConsistentRead(ctx); err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]uint64{"index": a.store.AppliedIndex()})
}
