package agent

import (
	"context"
	"time"

	"davit/raftstore"

	"github.com/hashicorp/raft"
	autopilot "github.com/hashicorp/raft-autopilot"
)

// Autopilot (hashicorp/raft-autopilot) runs on the leader: it removes
// voters that have been dead for deadAfter and promotes healthy, stable
// non-voters while the cluster has fewer than maxVoters voters, so a
// 5-voter cluster that loses two nodes heals back to five voters when other
// agents are available. Server health comes from the heartbeats: each
// carries the sender's last Raft index and term.
const (
	deadAfter       = 15 * time.Second
	stabilizeAfter  = 3 * time.Second
	maxTrailingLogs = 1000
)

// pilot is the agent's autopilot delegate.
type pilot struct{ a *Agent }

func (p *pilot) AutopilotConfig() *autopilot.Config {
	return &autopilot.Config{
		CleanupDeadServers:      true,
		LastContactThreshold:    nodeGrace,
		MaxTrailingLogs:         maxTrailingLogs,
		MinQuorum:               3,
		ServerStabilizationTime: stabilizeAfter,
	}
}

func (p *pilot) NotifyState(*autopilot.State) {}

// FetchServerStats answers from the heartbeats instead of an RPC per server.
func (p *pilot) FetchServerStats(_ context.Context, servers map[raft.ServerID]*autopilot.Server) map[raft.ServerID]*autopilot.ServerStats {
	now := time.Now()
	out := make(map[raft.ServerID]*autopilot.ServerStats, len(servers))
	for id := range servers {
		if string(id) == p.a.cfg.NodeName {
			st := p.a.store.Stats()
			out[id] = &autopilot.ServerStats{LastTerm: st.Term, LastIndex: st.LastIndex}
			continue
		}
		if hb, ok := p.a.beats.get(string(id)); ok {
			out[id] = &autopilot.ServerStats{LastContact: now.Sub(hb.at), LastTerm: hb.term, LastIndex: hb.index}
		}
	}
	return out
}

// KnownServers is the Raft configuration, with each server alive until it
// has been silent for deadAfter (since its last heartbeat, or since this
// leader was elected when it has not heard from it at all).
func (p *pilot) KnownServers() map[raft.ServerID]*autopilot.Server {
	servers, err := p.a.store.Servers()
	if err != nil {
		return nil
	}
	now := time.Now()
	_, leader := p.a.store.Leader()
	out := make(map[raft.ServerID]*autopilot.Server, len(servers))
	for _, s := range servers {
		status := autopilot.NodeAlive
		if s.ID != p.a.cfg.NodeName {
			hb, ok := p.a.beats.get(s.ID)
			switch {
			case ok && now.Sub(hb.at) > deadAfter:
				status = autopilot.NodeFailed
			case !ok && now.Sub(p.a.beats.electedAt()) > deadAfter:
				status = autopilot.NodeFailed
			} // not heard from yet (new leader): alive — autopilot removes anything not alive
		}
		out[raft.ServerID(s.ID)] = &autopilot.Server{ID: raft.ServerID(s.ID), Name: s.ID,
			Address: raft.ServerAddress(s.Address), NodeStatus: status, RaftVersion: raft.ProtocolVersionMax,
			IsLeader: s.ID == leader, Version: p.a.cfg.Version,
			// Every member may vote; the promoter caps voters at maxVoters.
			NodeType: autopilot.NodeVoter}
	}
	return out
}

// RemoveFailedServer removes a dead server; it must return at once.
func (p *pilot) RemoveFailedServer(s *autopilot.Server) {
	p.a.wg.Add(1)
	go func() {
		defer p.a.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.a.store.RemoveServer(ctx, string(s.ID)); err != nil {
			p.a.log.Warn("autopilot: remove dead server", "server", s.ID, "err", err)
			return
		}
		p.a.log.Info("autopilot: removed dead server", "server", s.ID)
	}()
}

// cappedPromoter is autopilot's stable promoter with a cap: it promotes
// stable non-voters only while there are fewer than maxVoters voters.
type cappedPromoter struct{ autopilot.StablePromoter }

func (cappedPromoter) CalculatePromotionsAndDemotions(c *autopilot.Config, s *autopilot.State) autopilot.RaftChanges {
	voters := 0
	for _, srv := range s.Servers {
		if srv.State == autopilot.RaftVoter || srv.State == autopilot.RaftLeader {
			voters++
		}
	}
	var changes autopilot.RaftChanges
	now := time.Now()
	for id, srv := range s.Servers {
		if voters >= maxVoters {
			break
		}
		if srv.State == autopilot.RaftNonVoter && srv.Health.IsStable(now, s.ServerStabilizationTime(c)) {
			changes.Promotions = append(changes.Promotions, id)
			voters++
		}
	}
	return changes
}

// newAutopilot builds the leader's autopilot (started and stopped by the
// leader loop).
func (a *Agent) newAutopilot() *autopilot.Autopilot {
	return autopilot.New(a.store.Raft(), &pilot{a: a},
		autopilot.WithPromoter(&cappedPromoter{}),
		autopilot.WithLogger(raftstore.HCLogger(a.log, "autopilot")),
		autopilot.WithReconcileInterval(time.Second), autopilot.WithUpdateInterval(time.Second))
}
