// Package client is the Go client of davit's HTTP API (docs/http-api.md):
// get, list, create-or-update, delete and watch any kind, the agent's
// status, and raw requests for the other endpoints. Server errors come back
// as *APIError, decoded from the server's Status, with every field error.
//
// Watch resumes by itself: when the server says the requested history is
// gone (410 Expired) or the stream ends, the client lists again, reports
// what changed meanwhile as ADDED, MODIFIED and DELETED events, and watches
// on from the new resourceVersion.
//
// It imports only the api package of davit's; the agent does not import it.
package client
