package view

import (
	"context"

	"davit/api"
	"davit/raftstore"
)

// Cluster is what every controller needs from its agent.
type Cluster interface {
	// Get, List and AppliedIndex read the local replicated state.
	Get(kind, namespace, name string) (*api.Object, error)
	List(kind, namespace string, match func(*api.Object) bool) ([]*api.Object, uint64)
	AppliedIndex() uint64
	// IsLeader reports whether this agent leads the cluster now.
	IsLeader() bool
	// Apply commits a command through the leader (forwarding when needed).
	Apply(ctx context.Context, cmd raftstore.Command) (*raftstore.Result, error)
}
