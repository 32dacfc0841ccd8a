package raftstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startCluster starts n stores on loopback: the first bootstraps, the others
// join it as voters.
func startCluster(t *testing.T, n int, edit func(*Config)) []*Store {
	t.Helper()
	var nodes []*Store
	for i := range n {
		cfg := testConfig(t, fmt.Sprintf("n%d", i+1), t.TempDir(), freeAddr(t))
		cfg.Bootstrap = i == 0
		if edit != nil {
			edit(&cfg)
		}
		s := openStore(t, cfg)
		if i == 0 {
			waitLeader(t, s)
		} else {
			require.NoError(t, nodes[0].AddVoter(ctxT(t), cfg.NodeID, s.LocalAddr()))
		}
		nodes = append(nodes, s)
	}
	for _, s := range nodes {
		require.Eventually(t, func() bool {
			servers, err := s.Servers()
			_, id := s.Leader()
			return err == nil && len(servers) == n && id == "n1"
		}, 5*time.Second, 10*time.Millisecond, "%s does not know the cluster", s.NodeID())
	}
	return nodes
}

// eventuallyHas waits until s has the object with at least resourceVersion rv.
func eventuallyHas(t *testing.T, s *Store, name string, rv uint64) {
	t.Helper()
	require.Eventually(t, func() bool {
		o, err := s.Get("vm", "default", name)
		return err == nil && o.Metadata.RV() >= rv
	}, 5*time.Second, 10*time.Millisecond, "%s never got %s@%d", s.NodeID(), name, rv)
}

func TestClusterReplicatesAndForwards(t *testing.T) {
	nodes := startCluster(t, 3, nil)
	leader, follower := nodes[0], nodes[1]

	servers, err := follower.Servers()
	require.NoError(t, err)
	require.Len(t, servers, 3)
	for _, srv := range servers {
		assert.True(t, srv.Voter)
		assert.Equal(t, srv.ID == "n1", srv.Leader)
	}

	res := apply(t, leader, PutCommand("vm", vm("a", `{"n":1}`)))
	for _, s := range nodes[1:] {
		eventuallyHas(t, s, "a", res.Index)
	}
	got, err := follower.Get("vm", "default", "a")
	require.NoError(t, err)
	assert.Equal(t, res.Object, got, "followers hold the same object, uid and all")

	// Followers refuse writes and consistent reads, naming the leader.
	_, err = follower.Apply(ctxT(t), PutCommand("vm", vm("b", `{}`)))
	require.ErrorIs(t, err, ErrNotLeader)
	var nl *NotLeaderError
	require.ErrorAs(t, err, &nl)
	assert.Equal(t, "n1", nl.LeaderID)
	assert.Equal(t, leader.LocalAddr(), nl.LeaderAddr)
	require.ErrorIs(t, follower.ConsistentRead(ctxT(t)), ErrNotLeader)
	require.ErrorIs(t, follower.AddNonvoter(ctxT(t), "x", "127.0.0.1:1"), ErrNotLeader)

	// What a follower encodes, the leader applies (the agent forwards it).
	entry, err := EncodeCommand(PutCommand("vm", vm("b", `{}`)))
	require.NoError(t, err)
	fwd, err := leader.ApplyRaw(ctxT(t), entry)
	require.NoError(t, err)
	assert.Equal(t, OutcomeCreated, fwd.Outcome)
	eventuallyHas(t, follower, "b", fwd.Index)

	// A follower's watch sees the leader's writes.
	w, err := follower.Watch(ctxT(t), "vm", "", "b", fwd.Index)
	require.NoError(t, err)
	defer w.Stop()
	up := apply(t, leader, PutCommand("vm", vm("b", `{"n":2}`)))
	ev := next(t, w)
	assert.Equal(t, up.Index, ev.Index)

	stats := follower.Stats()
	assert.Equal(t, "Follower", stats.State)
	assert.Equal(t, "n1", stats.LeaderID)
	assert.Len(t, stats.Peers, 3)
	assert.NotZero(t, stats.Term)
}

func TestLaggingFollowerCatchesUpBySnapshot(t *testing.T) {
	nodes := startCluster(t, 3, func(c *Config) { c.TrailingLogs = 5 })
	leader, lagging := nodes[0], nodes[2]
	cfg := lagging.cfg
	apply(t, leader, PutCommand("vm", vm("before", `{}`)))
	require.NoError(t, lagging.Close())

	var last *Result
	for i := range 60 {
		last = apply(t, leader, PutCommand("vm", vm(fmt.Sprintf("vm%d", i), `{}`)))
	}
	require.NoError(t, leader.Snapshot()) // compacts the log: the follower's next entry is gone
	snap := leader.Stats().LastSnapshotIndex
	first, err := leader.bolt.FirstIndex()
	require.NoError(t, err)
	require.Greater(t, first, lagging.Stats().LastIndex, "the leader no longer has what the follower lacks")

	lagging = openStore(t, cfg)
	eventuallyHas(t, lagging, "vm59", last.Index)
	objs, _ := lagging.List("vm", "", nil)
	assert.Len(t, objs, 61)
	// Raft records the installed snapshot just after the FSM restored it.
	require.Eventually(t, func() bool { return lagging.Stats().LastSnapshotIndex >= snap },
		5*time.Second, 10*time.Millisecond, "installed the leader's snapshot")

	// It keeps following afterwards.
	after := apply(t, leader, PutCommand("vm", vm("after", `{}`)))
	eventuallyHas(t, lagging, "after", after.Index)
}

func TestLeadershipNotifications(t *testing.T) {
	cfg := testConfig(t, "n1", t.TempDir(), freeAddr(t))
	cfg.Bootstrap = true
	s := openStore(t, cfg)
	ch, cancel := s.SubscribeLeadership()
	defer cancel()
	deadline := time.After(5 * time.Second)
	for leader := false; !leader; {
		select {
		case leader = <-ch:
		case <-deadline:
			t.Fatal("never told of leadership")
		}
	}
	assert.True(t, s.IsLeader())

	// Another subscriber starts with the current state; Close closes both.
	ch2, _ := s.SubscribeLeadership()
	assert.True(t, <-ch2)
	require.NoError(t, s.Close())
	for range ch2 {
	}
	for range ch {
	}
}
