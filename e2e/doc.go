// Package e2e holds davit's end-to-end tests: they start the real
// bin/davit agent as a separate process (DAVIT_BIN, built by `make test`)
// and drive it with the real CLI and HTTP API. Helpers here start and stop
// agent processes by PID and remove their data directories.
package e2e
