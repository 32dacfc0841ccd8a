package raftstore

import (
	"log/slog"

	"github.com/hashicorp/go-hclog"
)

// HCLogger adapts l to hashicorp's hclog interface, for the agent's other
// hashicorp libraries (raft-autopilot).
func HCLogger(l *slog.Logger, name string) hclog.Logger { return newHclog(l, name) }
