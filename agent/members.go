package agent

import (
	"context"
	"io"
	"net"
	"net/http"
	"sort"
	"time"
)

// Member is one row of `davit members`.
type Member struct {
	Name        string `json:"name"`
	Address     string `json:"address"`
	Role        string `json:"role"` // leader, voter, nonvoter
	Health      string `json:"health"`
	LastContact string `json:"lastContact"`
}

// handleMembers lists the Raft members with their health as the leader
// sees it; a follower asks the leader.
func (a *Agent) handleMembers(w http.ResponseWriter, r *http.Request) {
	if !a.store.IsLeader() {
		a.proxyGetToLeader(w, r)
		return
	}
	servers, err := a.store.Servers()
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	_, leaderID := a.store.Leader()
	now := time.Now()
	var out []Member
	for _, s := range servers {
		m := Member{Name: s.ID, Address: s.Address, Role: "nonvoter"}
		if s.Voter {
			m.Role = "voter"
		}
		if s.ID == leaderID {
			m.Role = "leader"
		}
		status, _, _ := a.beats.readiness(s.ID, now)
		m.Health = map[string]string{"True": "healthy", "False": "unhealthy", "Unknown": "unknown"}[status]
		if t, ok := a.beats.lastSeen(s.ID); ok {
			m.LastContact = now.Sub(t).Round(time.Millisecond).String()
		}
		if s.ID == a.cfg.NodeName { // the leader answering is alive by definition
			m.Health, m.LastContact = "healthy", "0s"
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSONBody(w, http.StatusOK, out)
}

// handleRemoveMember removes a member from the Raft configuration.
func (a *Agent) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if !a.store.IsLeader() {
		a.proxyToLeader(w, r)
		return
	}
	name := r.PathValue("name")
	if err := a.store.RemoveServer(r.Context(), name); err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "remove member "+name+": "+err.Error())
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]string{"removed": name})
}

func (a *Agent) proxyGetToLeader(w http.ResponseWriter, r *http.Request) { a.proxyToLeader(w, r) }

// proxyToLeader replays r against the leader and copies the answer back.
func (a *Agent) proxyToLeader(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	addr, err := a.leaderHTTP(ctx)
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		httpError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	req.Header.Set(tokenHeader, a.token)
	resp, err := a.peerClient().Do(req)
	if err != nil {
		httpError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "ask leader "+addr+": "+err.Error())
		return
	}
	defer resp.Body.Close()
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// isLoopback reports whether a request's remote address is this machine.
func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
