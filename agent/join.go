package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxVoters is the most voters a cluster keeps; further members are
// non-voters (DESIGN §4).
const maxVoters = 5

// JoinRequest is the body of POST /v1/cluster/join.
type JoinRequest struct {
	NodeName string `json:"nodeName"`
	RaftAddr string `json:"raftAddr"`
	HTTPAddr string `json:"httpAddr"`
	Token    string `json:"token"`
}

// JoinResponse tells a new member who leads.
type JoinResponse struct {
	Leader   string `json:"leader"`
	Voter    bool   `json:"voter"`
	Servers  int    `json:"servers"`
	LeaderAt string `json:"leaderHTTP"`
}

// joinIfAsked joins the cluster at cfg.Join when this agent has no Raft
// state of its own yet. A restarted member rejoins from its data dir.
func (a *Agent) joinIfAsked(ctx context.Context) error {
	if a.cfg.Join == "" || a.joined() {
		return nil
	}
	req := JoinRequest{NodeName: a.cfg.NodeName, RaftAddr: a.cfg.AdvertiseRaft, HTTPAddr: a.cfg.AdvertiseHTTP, Token: a.token}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := postJSON(ctx, a.peerClient(), a.cfg.Join, "/v1/cluster/join", a.token, req)
		var perm *permanentError
		switch {
		case err == nil:
			var jr JoinResponse
			_ = json.Unmarshal(resp, &jr)
			a.log.Info("joined cluster", "via", a.cfg.Join, "leader", jr.Leader, "voter", jr.Voter)
			return nil
		case errors.As(err, &perm):
			return fmt.Errorf("join %s: %w", a.cfg.Join, err)
		case time.Now().After(deadline) || ctx.Err() != nil:
			return fmt.Errorf("join %s: gave up after 60s: %w", a.cfg.Join, err)
		}
		a.log.Warn("join failed, retrying", "via", a.cfg.Join, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// joined reports whether this agent's Raft configuration already lists it,
// i.e. it was added before (and merely restarted).
func (a *Agent) joined() bool {
	servers, err := a.store.Servers()
	if err != nil {
		return false
	}
	for _, s := range servers {
		if s.ID == a.cfg.NodeName {
			return true
		}
	}
	return false
}

// handleJoin adds a member. Followers hand the request to the leader.
func (a *Agent) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req JoinRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "BadRequest", "decode join request: "+err.Error())
		return
	}
	if !tokenOK(a.token, req.Token) {
		httpError(w, http.StatusForbidden, "Forbidden", "join refused: wrong join token (see `davit cluster token` on a member)")
		return
	}
	if req.NodeName == "" || req.RaftAddr == "" {
		httpError(w, http.StatusBadRequest, "BadRequest", "join request needs nodeName and raftAddr")
		return
	}
	if !a.store.IsLeader() {
		a.forwardToLeader(w, r, req)
		return
	}
	voter, err := a.addMember(r.Context(), req)
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "add member: "+err.Error())
		return
	}
	servers, _ := a.store.Servers()
	writeJSONBody(w, http.StatusOK, JoinResponse{Leader: a.cfg.NodeName, Voter: voter, Servers: len(servers), LeaderAt: a.cfg.AdvertiseHTTP})
}

// addMember adds req as a voter while there are fewer than maxVoters, else
// as a non-voter (autopilot promotes non-voters when voters die).
func (a *Agent) addMember(ctx context.Context, req JoinRequest) (bool, error) {
	servers, err := a.store.Servers()
	if err != nil {
		return false, err
	}
	voters := 0
	for _, s := range servers {
		if s.ID == req.NodeName && s.Address == req.RaftAddr {
			return s.Voter, nil // already a member: a retried join
		}
		if s.Voter {
			voters++
		}
	}
	if voters < maxVoters {
		return true, a.store.AddVoter(ctx, req.NodeName, req.RaftAddr)
	}
	return false, a.store.AddNonvoter(ctx, req.NodeName, req.RaftAddr)
}

func (a *Agent) forwardToLeader(w http.ResponseWriter, r *http.Request, req JoinRequest) {
	addr, err := a.leaderHTTP(r.Context())
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	body, err := postJSON(r.Context(), a.peerClient(), addr, "/v1/cluster/join", a.token, req)
	if err != nil {
		var perm *permanentError
		if errors.As(err, &perm) {
			httpError(w, perm.code, "Forbidden", perm.msg)
			return
		}
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// permanentError is a 4xx answer from a peer: retrying will not help.
type permanentError struct {
	code int
	msg  string
}

func (e *permanentError) Error() string { return e.msg }

// postJSON posts v to http://addr+path and returns the body of a 2xx answer.
func postJSON(ctx context.Context, hc *http.Client, addr, path, token string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(tokenHeader, token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 {
		var st struct{ Message string }
		_ = json.Unmarshal(body, &st)
		if st.Message == "" {
			st.Message = strings.TrimSpace(string(body))
		}
		return nil, &permanentError{code: resp.StatusCode, msg: st.Message}
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s%s: %s: %s", addr, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// tokenHeader carries the cluster token on member-to-member requests.
const tokenHeader = "X-Davit-Token"

func httpError(w http.ResponseWriter, code int, reason, msg string) {
	writeJSONBody(w, code, map[string]any{"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": msg})
}

func writeJSONBody(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
