package agent

import (
	"net/http"
)

// mountInternal adds the member-to-member and cluster endpoints to the API.
func (a *Agent) mountInternal() {
	a.api.Handle("POST /v1/cluster/join", http.HandlerFunc(a.handleJoin))
	a.api.Handle("GET /v1/cluster/members", http.HandlerFunc(a.handleMembers))
	a.api.Handle("POST /v1/cluster/members/{name}/remove", http.HandlerFunc(a.handleRemoveMember))
	a.api.Handle("GET /v1/cluster/token", http.HandlerFunc(a.handleToken))
	a.api.Handle("POST /v1/internal/apply", http.HandlerFunc(a.handleInternalApply))
	a.api.Handle("POST /v1/internal/readindex", http.HandlerFunc(a.handleReadIndex))
	a.api.Handle("POST /v1/internal/heartbeat", http.HandlerFunc(a.handleHeartbeat))
}

// handleToken prints the join token to local callers only: the token is
// a secret, and the HTTP API has no authentication of its own yet, so
// only a client on this machine (like `davit cluster token` run on a
// member) may read it.
func (a *Agent) handleToken(w http.ResponseWriter, r *http.Request) {
	if !isLoopback(r.RemoteAddr) {
		httpError(w, http.StatusForbidden, "Forbidden", "the join token is only served to loopback clients; read DATA/join-token on a member")
		return
	}
	writeJSONBody(w, http.StatusOK, map[string]string{"token": a.token})
}
