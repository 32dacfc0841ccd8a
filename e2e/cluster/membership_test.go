package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMembershipCommands: `cluster token` on a member prints the token the
// others joined with; a member restarted without --join rejoins from its
// data dir; `members remove` takes a member out.
func TestMembershipCommands(t *testing.T) {
	c := newCluster(t, 3)
	out, errOut, code := c.Nodes[0].CLI("", "cluster", "token")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, c.Token(), strings.TrimSpace(out))

	// Restart node1 with no --join: it rejoins from its own state.
	nd := c.Nodes[1]
	nd.Stop()
	nd.Extra = nil
	nd.Start()
	code2, err := putSecret(context.Background(), nd, "after-restart", "x")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, code2)

	c.Nodes[2].Stop()
	out, errOut, code = c.Nodes[0].CLI("", "members", "remove", "node2")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "member/node2 removed")
	out, _, _ = c.Nodes[1].CLI("", "members")
	assert.NotContains(t, out, "node2")
	assert.Equal(t, 3, strings.Count(out, "\n"), out) // header + 2 members
}

// TestWatchOnFollower: a watch served by a follower sees a write made
// through another node.
func TestWatchOnFollower(t *testing.T) {
	c := newCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	follower := c.Nodes[(c.leader()+1)%3]
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, follower.URL()+"/v1/namespaces/default/secrets?watch=1", nil)
	resp, err := follower.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	writer := c.Nodes[(c.leader()+2)%3]
	code, err := putSecret(ctx, writer, "watched", "v")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev struct {
			Type   string
			Object struct {
				Metadata struct{ Name string }
			}
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		if ev.Object.Metadata.Name == "watched" {
			assert.Equal(t, "ADDED", ev.Type)
			return
		}
	}
	t.Fatalf("watch on %s ended without the write: %v", follower.Name, sc.Err())
}
