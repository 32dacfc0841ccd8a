package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// nopFSM applies nothing: the baseline measures Raft alone.
type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any                 { return nil }
func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnap{}, nil }
func (nopFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type nopSnap struct{}

func (nopSnap) Persist(s raft.SnapshotSink) error { return s.Close() }
func (nopSnap) Release()                          {}

// bareNode is one hashicorp/raft member with a no-op FSM on raft-boltdb.
type bareNode struct {
	raft  *raft.Raft
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore
}

func (n *bareNode) close() {
	_ = n.raft.Shutdown().Error()
	_ = n.trans.Close()
	_ = n.store.Close()
}

// startBareCluster starts n members on loopback in dir and waits for a leader.
func startBareCluster(dir string, n int) ([]*bareNode, *raft.Raft, error) {
	var nodes []*bareNode
	var servers []raft.Server
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		addr := ln.Addr().String()
		ln.Close()
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprint("n", i)), Address: raft.ServerAddress(addr)})
	}
	for i, srv := range servers {
		d := filepath.Join(dir, fmt.Sprint("n", i))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, nil, err
		}
		store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(d, "raft.db")})
		if err != nil {
			return nil, nil, err
		}
		snaps, err := raft.NewFileSnapshotStoreWithLogger(d, 1, hclog.NewNullLogger())
		if err != nil {
			return nil, nil, err
		}
		trans, err := raft.NewTCPTransportWithLogger(string(srv.Address), nil, 8, 10*time.Second, hclog.NewNullLogger())
		if err != nil {
			return nil, nil, err
		}
		conf := raft.DefaultConfig()
		conf.LocalID = srv.ID
		conf.Logger = hclog.NewNullLogger()
		conf.SnapshotThreshold = 1 << 30
		r, err := raft.NewRaft(conf, nopFSM{}, store, store, snaps, trans)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 {
			if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
				return nil, nil, err
			}
		}
		nodes = append(nodes, &bareNode{raft: r, trans: trans, store: store})
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, nd := range nodes {
			if nd.raft.State() == raft.Leader {
				return nodes, nd.raft, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nodes, nil, fmt.Errorf("no leader after 20s")
}

// bareApplies measures applies per second of size-byte entries with the
// given concurrency for d.
func bareApplies(leader *raft.Raft, size, clients int, d time.Duration) float64 {
	entry := make([]byte, size)
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if leader.Apply(entry, 5*time.Second).Error() == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}
