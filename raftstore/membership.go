package raftstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Server is one member of the Raft configuration.
type Server struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Voter is false for non-voters (and for servers being staged).
	Voter bool `json:"voter"`
	// Leader is true for the server this node knows as leader.
	Leader bool `json:"leader"`
}

// Servers returns the latest Raft configuration as this node knows it.
func (s *Store) Servers() ([]Server, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, s.raftErr("get configuration", err)
	}
	_, leader := s.raft.LeaderWithID()
	var out []Server
	for _, srv := range f.Configuration().Servers {
		out = append(out, Server{ID: string(srv.ID), Address: string(srv.Address),
			Voter: srv.Suffrage == raft.Voter, Leader: srv.ID == leader})
	}
	return out, nil
}

// AddVoter adds (or promotes) a voting server (leader only). The new server
// must be running with the same cluster's storage or none.
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	return s.changeConfig(ctx, fmt.Sprintf("add voter %s at %s", id, addr), func(d time.Duration) raft.IndexFuture {
		return s.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, d)
	})
}

// AddNonvoter adds a server that receives the log but does not vote (leader
// only). A voter stays a voter.
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	return s.changeConfig(ctx, fmt.Sprintf("add nonvoter %s at %s", id, addr), func(d time.Duration) raft.IndexFuture {
		return s.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, d)
	})
}

// DemoteVoter makes a voter a non-voter (leader only).
func (s *Store) DemoteVoter(ctx context.Context, id string) error {
	return s.changeConfig(ctx, "demote voter "+id, func(d time.Duration) raft.IndexFuture {
		return s.raft.DemoteVoter(raft.ServerID(id), 0, d)
	})
}

// RemoveServer removes a server from the configuration (leader only).
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	return s.changeConfig(ctx, "remove server "+id, func(d time.Duration) raft.IndexFuture {
		return s.raft.RemoveServer(raft.ServerID(id), 0, d)
	})
}

func (s *Store) changeConfig(ctx context.Context, op string, do func(time.Duration) raft.IndexFuture) error {
	if err := s.leaderOnly(op); err != nil {
		return err
	}
	d, err := timeout(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := s.wait(ctx, do(d)); err != nil {
		return s.raftErr(op, err)
	}
	return nil
}
