// Package httpapi serves davit's HTTP API (docs/http-api.md): resource
// CRUD and watch under /v1, the agent's status, health, readiness and
// Prometheus metrics. It decodes strictly, defaults and validates with the
// api package plus the rules that read the store, and hands writes to a
// Writer (the agent's leader-forwarding apply path). It never panics on
// input: every client mistake is a 4xx Status naming the field.
package httpapi
