// Package agent is the davit daemon: it loads the configuration, opens the
// Raft store, serves the HTTP API, forwards writes to the leader, keeps the
// node's own Node object current and bootstraps a new cluster's predefined
// objects. Sub-packages hold the HTTP API (httpapi) and the client (client).
//
// Nothing below agent imports it.
package agent
