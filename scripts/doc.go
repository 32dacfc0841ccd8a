// Package scripts holds davit's shell tooling: the dependency installer
// (deps.sh), the systemd unit and its install script. It has no Go code of
// its own; this file only documents the directory.
package scripts
