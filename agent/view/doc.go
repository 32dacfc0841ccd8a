// Package view is the agent as its controllers see it: the replicated
// state they read (local, possibly a little behind the leader) and the
// write path through the leader. The image, disk, VM and operation
// controllers take a Cluster, add what only they need, and never import
// davit/agent; the agent passes itself in through one adapter.
package view
