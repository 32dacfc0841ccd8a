package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"davit/agent/httpapi"
	"davit/api"
	"davit/raftstore"
)

// apply commits cmd through the leader and returns its result: locally
// when this agent leads, otherwise forwarded to the leader's HTTP port.
// While there is no leader (an election) it retries until the configured
// write timeout, then fails with httpapi.ErrUnavailable.
func (a *Agent) apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error) {
	entry, err := raftstore.EncodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.WriteTimeout.Duration)
	defer cancel()
	start := time.Now()
	defer func() { a.applyLatency.Observe(time.Since(start).Seconds()) }()
	var last error
	for {
		res, err := a.applyOnce(ctx, entry)
		if err == nil {
			return res, nil
		}
		if !retryable(err) {
			return nil, err
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: no leader committed the write within %s (last error: %v)",
				httpapi.ErrUnavailable, a.cfg.WriteTimeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// errNoLeader: nobody leads right now; the write may be retried.
var errNoLeader = errors.New("no leader known")

func retryable(err error) bool {
	var op *net.OpError
	return errors.Is(err, errNoLeader) || errors.Is(err, raftstore.ErrNotLeader) ||
		(errors.As(err, &op) && op.Op == "dial")
}

func (a *Agent) applyOnce(ctx context.Context, entry []byte) (*raftstore.Result, error) {
	if a.store.IsLeader() {
		return a.store.ApplyRaw(ctx, entry)
	}
	addr, err := a.leaderHTTP(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/internal/apply", bytes.NewReader(entry))
	if err != nil {
		return nil, err
	}
	req.Header.Set(tokenHeader, a.token)
	resp, err := a.peerClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("forward write to leader %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("forward write to leader %s: %w", addr, err)
	}
	if resp.StatusCode == http.StatusMisdirectedRequest || resp.StatusCode == http.StatusServiceUnavailable {
		return nil, errNoLeader // leadership moved while we forwarded
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("forward write to leader %s: %s: %s", addr, resp.Status, body)
	}
	var wr wireResult
	if err := json.Unmarshal(body, &wr); err != nil {
		return nil, fmt.Errorf("forward write to leader %s: decode result: %w", addr, err)
	}
	return wr.result(), nil
}

// wireResult is a raftstore.Result on the wire between members.
type wireResult struct {
	Index   uint64            `json:"index"`
	Outcome raftstore.Outcome `json:"outcome"`
	Object  *api.Object       `json:"object,omitempty"`
	ErrKind string            `json:"errKind,omitempty"`
	ErrMsg  string            `json:"errMsg,omitempty"`
}

var wireErrors = map[string]error{
	"NotFound": raftstore.ErrNotFound, "AlreadyExists": raftstore.ErrAlreadyExists,
	"Conflict": raftstore.ErrConflict, "UnknownKind": raftstore.ErrUnknownKind,
	"UnknownCommand": raftstore.ErrUnknownCommand, "InvalidCommand": raftstore.ErrInvalidCommand,
}

func toWire(r *raftstore.Result) wireResult {
	wr := wireResult{Index: r.Index, Outcome: r.Outcome, Object: r.Object}
	if r.Err != nil {
		wr.ErrKind, wr.ErrMsg = "Other", r.Err.Error()
		for k, e := range wireErrors {
			if errors.Is(r.Err, e) {
				wr.ErrKind = k
			}
		}
	}
	return wr
}

// wrapped keeps the leader's message while matching the sentinel.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

func (wr wireResult) result() *raftstore.Result {
	r := &raftstore.Result{Index: wr.Index, Outcome: wr.Outcome, Object: wr.Object}
	if wr.ErrKind != "" {
		r.Err = &wrapped{msg: wr.ErrMsg, err: wireErrors[wr.ErrKind]}
	}
	return r
}

// handleInternalApply applies a command forwarded by another member.
func (a *Agent) handleInternalApply(w http.ResponseWriter, r *http.Request) {
	if !tokenOK(a.token, r.Header.Get(tokenHeader)) {
		httpError(w, http.StatusForbidden, "Forbidden", "wrong cluster token")
		return
	}
	entry, err := io.ReadAll(io.LimitReader(r.Body, a.cfg.MaxBodyBytes*2))
	if err != nil {
		httpError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	if !a.store.IsLeader() {
		httpError(w, http.StatusMisdirectedRequest, "NotLeader", "this member is not the leader")
		return
	}
	res, err := a.store.ApplyRaw(r.Context(), entry)
	if errors.Is(err, raftstore.ErrNotLeader) {
		httpError(w, http.StatusMisdirectedRequest, "NotLeader", err.Error())
		return
	}
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	writeJSONBody(w, http.StatusOK, toWire(res))
}

// leaderHTTP finds the HTTP address of the current leader from its Node
// object (each agent publishes its API address there).
func (a *Agent) leaderHTTP(ctx context.Context) (string, error) {
	_, id := a.store.Leader()
	if id == "" {
		return "", errNoLeader
	}
	if id == a.cfg.NodeName {
		return a.cfg.AdvertiseHTTP, nil
	}
	obj, err := a.store.Get("Node", "", id)
	if err != nil {
		return "", fmt.Errorf("%w: leader %s has no Node object yet", errNoLeader, id)
	}
	if addr := nodeAddress(obj, addrHTTP); addr != "" {
		return addr, nil
	}
	return "", fmt.Errorf("%w: leader %s publishes no HTTP address", errNoLeader, id)
}

// Node address types davit publishes besides InternalIP.
const (
	addrHTTP = "DavitAPI"
	addrRaft = "DavitRaft"
)

func nodeAddress(obj *api.Object, typ string) string {
	var st struct {
		Addresses []struct{ Type, Address string } `json:"addresses"`
	}
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return ""
	}
	for _, ad := range st.Addresses {
		if ad.Type == typ {
			return ad.Address
		}
	}
	return ""
}

// peerClient is the HTTP client for member-to-member calls.
func (a *Agent) peerClient() *http.Client { return a.peers }
