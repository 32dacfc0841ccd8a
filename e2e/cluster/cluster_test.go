package cluster

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newCluster(t *testing.T, n int, extra ...string) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts agent processes")
	}
	return New(t, n, Options{ExtraArgs: extra})
}

func TestThreeNodeClusterMembersAndNodes(t *testing.T) {
	c := newCluster(t, 3)
	var out string
	require.Eventually(t, func() bool {
		out, _, _ = c.Nodes[1].CLI("", "members")
		return strings.Count(out, "healthy") == 3 && strings.Contains(out, "leader")
	}, 20*time.Second, 200*time.Millisecond, "members: %s", out)
	t.Logf("davit members:\n%s", out)
	assert.Equal(t, 2, strings.Count(out, "voter"), out)

	require.Eventually(t, func() bool {
		out, _, _ = c.Nodes[2].CLI("", "get", "nodes")
		return strings.Count(out, " Ready ") == 3
	}, 20*time.Second, 200*time.Millisecond, "nodes: %s", out)
	t.Logf("davit get nodes:\n%s", out)

	// cordon / uncordon through a follower.
	_, errOut, code := c.Nodes[2].CLI("", "cordon", "node1")
	require.Equal(t, 0, code, errOut)
	require.Eventually(t, func() bool {
		out, _, _ = c.Nodes[0].CLI("", "get", "nodes", "node1")
		return strings.Contains(out, "Ready,SchedulingDisabled")
	}, 10*time.Second, 100*time.Millisecond, out)
	_, errOut, code = c.Nodes[0].CLI("", "uncordon", "node1")
	require.Equal(t, 0, code, errOut)

	// A write on a follower is visible on every node (consistent read).
	ctx := context.Background()
	code, err := putSecret(ctx, c.Nodes[1], "hello", "world")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	for _, nd := range c.Nodes {
		v, code, err := getSecret(ctx, nd, "hello", true)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "world", v)
	}
}

func TestWrongJoinTokenIsRefused(t *testing.T) {
	c := newCluster(t, 1)
	nd := c.newNode(1, []string{"--join", c.Nodes[0].HTTPAddr, "--join-token", "wrong"})
	c.Nodes = append(c.Nodes, nd)
	nd.StartNoWait()
	code, exited := nd.Wait(30 * time.Second)
	require.True(t, exited, "agent with a wrong token kept running")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, nd.Log(), "join token")
}

// TestLeaderKillDuringWrites: 8 clients write through all three nodes; the
// leader is killed with SIGKILL; a new leader serves within 5 s and every
// acknowledged write is on every survivor exactly once.
func TestLeaderKillDuringWrites(t *testing.T) {
	c := newCluster(t, 3)
	old := -1
	require.Eventually(t, func() bool { old = c.leader(); return old >= 0 }, 10*time.Second, 100*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	acked := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				nd := c.Nodes[(w+i)%3]
				name := fmt.Sprintf("k%d-%d", w, i)
				rctx, rcancel := context.WithTimeout(ctx, 12*time.Second)
				code, err := putSecret(rctx, nd, name, name)
				rcancel()
				if err == nil && code == http.StatusCreated {
					mu.Lock()
					acked[name] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	killed := time.Now()
	c.Nodes[old].Kill()
	newLeader := -1
	for time.Since(killed) < 10*time.Second {
		if newLeader = c.leader(old); newLeader >= 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	election := time.Since(killed)
	require.GreaterOrEqual(t, newLeader, 0, "no new leader")
	// The new leader serves a write.
	var served time.Duration
	for {
		code, err := putSecret(context.Background(), c.Nodes[newLeader], fmt.Sprintf("after-%d", time.Now().UnixNano()), "x")
		if err == nil && code == http.StatusCreated {
			served = time.Since(killed)
			break
		}
		require.Less(t, time.Since(killed), 10*time.Second, "new leader does not serve writes")
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("leader killed: new leader elected after %s, serving writes after %s", election.Round(time.Millisecond), served.Round(time.Millisecond))
	assert.Less(t, served, 5*time.Second)
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	require.NotEmpty(t, acked)
	for i, nd := range c.Nodes {
		if i == old {
			continue
		}
		for name := range acked {
			v, code, err := getSecret(context.Background(), nd, name, true)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code, "acknowledged %s missing on %s", name, nd.Name)
			require.Equal(t, name, v)
		}
		// The full history: each object was created exactly once.
		require.NoError(t, checkCreatedOnce(nd, acked))
	}
	t.Logf("%d acknowledged writes present once on both survivors", len(acked))
}

// TestMinorityRefusesWritesAndConsistentReads: a node cut off from the
// majority answers 503 to writes and to consistent reads, never stale data.
func TestMinorityRefusesWritesAndConsistentReads(t *testing.T) {
	c := newCluster(t, 3, "--log-level", "info")
	ctx := context.Background()
	code, err := putSecret(ctx, c.Nodes[0], "reg", "v1")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	require.Eventually(t, func() bool { v, _, _ := getSecret(ctx, c.Nodes[2], "reg", false); return v == "v1" },
		5*time.Second, 50*time.Millisecond)

	c.Partition([]int{0, 1}, []int{2})
	defer c.Heal()
	// The majority moves on.
	require.Eventually(t, func() bool {
		code, err := putSecret(ctx, c.Nodes[0], "reg", "v2")
		return err == nil && code == http.StatusOK
	}, 15*time.Second, 100*time.Millisecond)

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	code, err = putSecret(wctx, c.Nodes[2], "reg", "v3")
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	_, code, _ = getSecret(wctx, c.Nodes[2], "reg", true)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	// A plain local read is allowed to be stale: that is what consistent=1 is for.
	v, _, err := getSecret(wctx, c.Nodes[2], "reg", false)
	require.NoError(t, err)
	assert.Equal(t, "v1", v)

	c.Heal()
	require.Eventually(t, func() bool { v, code, _ := getSecret(ctx, c.Nodes[2], "reg", true); return code == 200 && v == "v2" },
		20*time.Second, 100*time.Millisecond)
}

// TestRejoinFromSnapshot: a node down for longer than the snapshot
// threshold catches up from a snapshot (InstallSnapshot).
func TestRejoinFromSnapshot(t *testing.T) {
	c := newCluster(t, 3, "--snapshot-threshold", "64", "--snapshot-interval", "200ms", "--log-level", "debug")
	ctx := context.Background()
	c.Nodes[2].Stop()
	for i := 0; i < 400; i++ {
		code, err := putSecret(ctx, c.Nodes[i%2], fmt.Sprintf("s%d", i), "x")
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, code)
	}
	time.Sleep(time.Second) // let the leader snapshot and compact its log
	c.Nodes[2].Start()
	require.Eventually(t, func() bool {
		v, code, _ := getSecret(ctx, c.Nodes[2], "s399", false)
		return code == http.StatusOK && v == "x"
	}, 30*time.Second, 100*time.Millisecond)
	assert.Contains(t, c.Nodes[2].Log(), "Installed remote snapshot", "node 2 caught up without InstallSnapshot")
	for i := 0; i < 400; i += 37 {
		_, code, _ := getSecret(ctx, c.Nodes[2], fmt.Sprintf("s%d", i), false)
		assert.Equal(t, http.StatusOK, code)
	}
}
