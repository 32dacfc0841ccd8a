package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func countRoles(out string) (leader, voters, nonvoters int) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[2] {
		case "leader":
			leader++
		case "voter":
			voters++
		case "nonvoter":
			nonvoters++
		}
	}
	return
}

// TestAutopilotHealsQuorum: seven agents make five voters and two
// non-voters; when two voters die, autopilot removes them and promotes the
// non-voters, back to five voters.
func TestAutopilotHealsQuorum(t *testing.T) {
	c := newCluster(t, 7)
	var out string
	require.Eventually(t, func() bool {
		out, _, _ = c.Nodes[0].CLI("", "members")
		l, v, n := countRoles(out)
		return l == 1 && v == 4 && n == 2
	}, 30*time.Second, 250*time.Millisecond, "roles before: %s", out)
	t.Logf("before:\n%s", out)

	// Kill two voters that are not the leader.
	ld := c.leader()
	killed := 0
	for i, nd := range c.Nodes {
		if killed == 2 {
			break
		}
		if i != ld && strings.Contains(lineOf(out, nd.Name), " voter ") {
			nd.Kill()
			killed++
		}
	}
	require.Equal(t, 2, killed)
	start := time.Now()
	defer func() {
		if t.Failed() {
			t.Logf("last members output:\n%s", out)
		}
	}()
	require.Eventually(t, func() bool {
		for i, nd := range c.Nodes {
			if ex, _ := nd.Exited(); !ex {
				out, _, _ = c.Nodes[i].CLI("", "members")
				break
			}
		}
		l, v, n := countRoles(out)
		return l == 1 && v == 4 && n == 0 && strings.Count(out, "\n") == 6
	}, 60*time.Second, 500*time.Millisecond, "roles did not heal")
	t.Logf("healed to five voters in %s:\n%s", time.Since(start).Round(time.Second), out)
}

func lineOf(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return l + " "
		}
	}
	return ""
}
