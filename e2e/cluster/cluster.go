package cluster

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/e2e"
)

// Cluster is N agents started by one test.
type Cluster struct {
	t     testing.TB
	bin   string
	net   *network // nil in loopback mode
	Nodes []*Node
	// NoNamespaces says why the harness runs on loopback ports instead.
	NoNamespaces string
}

// Node is one agent of a Cluster.
type Node struct {
	c        *Cluster
	Index    int
	Name     string
	DataDir  string
	HTTPAddr string
	RaftAddr string
	Extra    []string
	ns       string
	proc     *e2e.Process
	log      *e2e.LogBuffer
	client   *http.Client
}

// Options tune a cluster.
type Options struct {
	// ExtraArgs are added to every agent's command line.
	ExtraArgs []string
	// NodeArgs, when set, adds arguments to node i's command line (e.g.
	// --cpu-facts to simulate nodes with different CPUs).
	NodeArgs func(i int) []string
}

// New starts an n-node cluster: node 0 bootstraps, the others join it with
// its token. It waits until every node is ready.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: e2e.Bin(t)}
	if err := namespacesAllowed(); err != nil {
		c.NoNamespaces = err.Error()
		t.Logf("cluster: network namespaces unavailable (%v): using loopback ports", err)
	} else {
		nw, err := newNetwork()
		if err != nil {
			t.Fatalf("cluster: network: %v", err)
		}
		c.net = nw
	}
	t.Cleanup(c.destroy)
	for i := 0; i < n; i++ {
		extra := append([]string(nil), opts.ExtraArgs...)
		if opts.NodeArgs != nil {
			extra = append(extra, opts.NodeArgs(i)...)
		}
		c.Nodes = append(c.Nodes, c.newNode(i, extra))
	}
	c.Nodes[0].Start()
	token := c.Token()
	for _, nd := range c.Nodes[1:] {
		nd.Extra = append(nd.Extra, "--join", c.Nodes[0].HTTPAddr, "--join-token", token)
		nd.Start()
	}
	return c
}

func (c *Cluster) newNode(i int, extra []string) *Node {
	c.t.Helper()
	nd := &Node{c: c, Index: i, Name: fmt.Sprintf("node%d", i), DataDir: filepath.Join(e2e.ShortTempDir(c.t), "data"),
		Extra: append([]string(nil), extra...)}
	// Cleanups run last-registered first: this one (the agent killed,
	// then its VMs' QEMUs and cgroups) before the data dir's removal.
	c.t.Cleanup(func() {
		nd.Kill()
		e2e.CleanupVMs(c.t, nd.DataDir, e2e.CgroupParent(nd.Name))
	})
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableKeepAlives: false}
	if c.net != nil {
		if err := c.net.addNode(i); err != nil {
			c.t.Fatalf("cluster: node %d network: %v", i, err)
		}
		nd.ns = c.net.nodeNS(i)
		nd.HTTPAddr, nd.RaftAddr = c.net.ip(i)+":9640", c.net.ip(i)+":9641"
		tr.DialContext = dialIn(nd.ns)
	} else {
		nd.HTTPAddr, nd.RaftAddr = e2e.FreeAddr(c.t), e2e.FreeAddr(c.t)
	}
	nd.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	return nd
}

// Token reads the join token node 0 wrote.
func (c *Cluster) Token() string {
	b, err := os.ReadFile(filepath.Join(c.Nodes[0].DataDir, "join-token"))
	if err != nil {
		c.t.Fatalf("cluster: read join token: %v", err)
	}
	return strings.TrimSpace(string(b))
}

func (c *Cluster) destroy() {
	for _, nd := range c.Nodes {
		nd.Kill()
		if c.t.Failed() && nd.log != nil {
			c.t.Logf("---- log of %s ----\n%s", nd.Name, tail(nd.log.String(), 8000))
		}
	}
	if c.net != nil {
		c.net.destroy(len(c.Nodes))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// Client is an HTTP client whose connections reach the node's network.
func (nd *Node) Client() *http.Client { return nd.client }

// URL is the node's API base URL.
func (nd *Node) URL() string { return "http://" + nd.HTTPAddr }

// Log returns what the node's agent printed so far.
func (nd *Node) Log() string { return nd.log.String() }

// Start starts the agent process (again) and waits for /readyz.
func (nd *Node) Start() {
	nd.c.t.Helper()
	nd.StartNoWait()
	nd.WaitReady(45 * time.Second)
}

// StartNoWait starts the agent process without waiting.
func (nd *Node) StartNoWait() {
	nd.c.t.Helper()
	args := append([]string{"agent", "--data-dir", nd.DataDir, "--node-name", nd.Name,
		"--http-addr", nd.HTTPAddr, "--raft-addr", nd.RaftAddr, "--log-level", "debug",
		"--cgroup-parent", e2e.CgroupParent(nd.Name)}, nd.Extra...)
	if nd.log == nil {
		nd.log = &e2e.LogBuffer{}
	}
	p, err := e2e.StartProcess(nd.command(nd.c.bin, args...), nd.log)
	if err != nil {
		nd.c.t.Fatalf("cluster: start %s: %v", nd.Name, err)
	}
	nd.proc = p
}

// command builds a command that runs inside the node's namespace
// (`ip netns exec` execs the program, so the PID is the program's).
func (nd *Node) command(name string, args ...string) *exec.Cmd {
	if nd.ns == "" {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", nd.ns, name}, args...)...)
}

// WaitReady waits until the node's /readyz answers 200.
func (nd *Node) WaitReady(d time.Duration) {
	nd.c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if exited, code := nd.Exited(); exited {
			nd.c.t.Fatalf("cluster: %s exited with %d\n%s", nd.Name, code, tail(nd.log.String(), 8000))
		}
		if resp, err := nd.client.Get(nd.URL() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	nd.c.t.Fatalf("cluster: %s not ready after %s\n%s", nd.Name, d, tail(nd.log.String(), 8000))
}

// Exited reports whether the agent process ended, and its exit code.
func (nd *Node) Exited() (bool, int) { return nd.proc.Exited() }

// Wait waits up to d for the process to exit on its own.
func (nd *Node) Wait(d time.Duration) (int, bool) { return nd.proc.Wait(d) }

// PID is the agent's process ID (0 when never started).
func (nd *Node) PID() int { return nd.proc.PID() }

// Kill sends SIGKILL to the agent by PID and waits for it.
func (nd *Node) Kill() { nd.proc.Signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for the agent to exit.
func (nd *Node) Stop() { nd.proc.Signal(syscall.SIGTERM) }

// Restart stops (SIGTERM) and starts the agent again on the same data dir.
func (nd *Node) Restart() {
	nd.Stop()
	nd.Start()
}

// CutOff takes the node's link down: 100% loss to every other node.
func (nd *Node) CutOff() {
	nd.c.t.Helper()
	nd.c.needNamespaces()
	if err := nd.c.net.setLink(nd.Index, false); err != nil {
		nd.c.t.Fatalf("cluster: cut off %s: %v", nd.Name, err)
	}
}

// Reconnect brings the node's link back up.
func (nd *Node) Reconnect() {
	nd.c.t.Helper()
	nd.c.needNamespaces()
	if err := nd.c.net.setLink(nd.Index, true); err != nil {
		nd.c.t.Fatalf("cluster: reconnect %s: %v", nd.Name, err)
	}
}

// Partition splits the cluster: nodes of different groups cannot talk.
// Nodes in no group keep talking to everyone.
func (c *Cluster) Partition(groups ...[]int) {
	c.t.Helper()
	c.needNamespaces()
	c.Heal()
	for gi, g := range groups {
		var others []string
		for gj, h := range groups {
			if gj != gi {
				for _, j := range h {
					others = append(others, c.net.ip(j))
				}
			}
		}
		for _, i := range g {
			if err := c.net.block(i, others); err != nil {
				c.t.Fatalf("cluster: partition: %v", err)
			}
		}
	}
}

// Heal removes every partition rule.
func (c *Cluster) Heal() {
	if c.net == nil {
		return
	}
	for i := range c.Nodes {
		c.net.unblock(i)
	}
}

func (c *Cluster) needNamespaces() {
	c.t.Helper()
	if c.net == nil {
		c.t.Skipf("needs network namespaces: %s", c.NoNamespaces)
	}
}

// CLI runs `davit --addr <node> args...` inside the node's network and
// returns stdout, stderr and the exit code.
func (nd *Node) CLI(stdin string, args ...string) (string, string, int) {
	nd.c.t.Helper()
	out, errOut, code, err := e2e.RunCLI(nd.command(nd.c.bin, append([]string{"--addr", nd.URL()}, args...)...), stdin)
	if err != nil {
		nd.c.t.Fatalf("cluster: run davit %v: %v", args, err)
	}
	return out, errOut, code
}
