package raftstoretest

import (
	"context"
	"net"
	"testing"
	"time"

	"davit/raftstore"
)

// New starts a one-node store named n1 in a temporary directory and waits
// until it leads. It is closed when the test ends.
func New(tb testing.TB) *raftstore.Store {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("raftstoretest: free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cfg := raftstore.DefaultConfig()
	cfg.NodeID, cfg.DataDir, cfg.RaftAddr, cfg.Bootstrap = "n1", tb.TempDir(), addr, true
	cfg.HeartbeatTimeout, cfg.ElectionTimeout, cfg.LeaderLeaseTimeout = 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond
	s, err := raftstore.New(cfg)
	if err != nil {
		tb.Fatalf("raftstoretest: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := s.WaitLeader(ctx); err != nil {
		tb.Fatalf("raftstoretest: no leader: %v", err)
	}
	return s
}
