package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// network is a bridge in its own namespace plus one namespace per node.
type network struct {
	prefix string // unique per cluster, e.g. "dvt3fa2"
	subnet string // "10.77.0."
}

func newNetwork() (*network, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	n := &network{prefix: "dvt" + hex.EncodeToString(b), subnet: "10.77.0."}
	if err := ipCmd("netns", "add", n.bridgeNS()); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"-n", n.bridgeNS(), "link", "add", "br0", "type", "bridge"},
		{"-n", n.bridgeNS(), "link", "set", "br0", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			n.destroy(0)
			return nil, err
		}
	}
	return n, nil
}

func (n *network) bridgeNS() string    { return n.prefix + "-br" }
func (n *network) nodeNS(i int) string { return fmt.Sprintf("%s-n%d", n.prefix, i) }
func (n *network) ip(i int) string     { return fmt.Sprintf("%s%d", n.subnet, i+1) }

// addNode creates node i's namespace, wires it to the bridge and gives it
// its address.
func (n *network) addNode(i int) error {
	ns, veth := n.nodeNS(i), fmt.Sprintf("v%d", i)
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", n.bridgeNS(), "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", n.bridgeNS(), "link", "set", veth, "master", "br0", "up"},
		{"-n", ns, "addr", "add", n.ip(i) + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}

// setLink brings node i's interface up or down (down = cut off).
func (n *network) setLink(i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return ipCmd("-n", n.nodeNS(i), "link", "set", "eth0", state)
}

// block drops all traffic between node i and the given addresses.
func (n *network) block(i int, peers []string) error {
	set := strings.Join(peers, ", ")
	rules := fmt.Sprintf(`table inet davitpart {
  chain input { type filter hook input priority 0; policy accept; ip saddr { %s } drop; }
  chain output { type filter hook output priority 0; policy accept; ip daddr { %s } drop; }
}
`, set, set)
	return run(rules, "ip", "netns", "exec", n.nodeNS(i), "nft", "-f", "-")
}

// unblock removes node i's partition rules (if any).
func (n *network) unblock(i int) {
	_ = run("", "ip", "netns", "exec", n.nodeNS(i), "nft", "delete", "table", "inet", "davitpart")
}

func (n *network) destroy(nodes int) {
	for i := 0; i < nodes; i++ {
		_ = ipCmd("netns", "del", n.nodeNS(i))
	}
	_ = ipCmd("netns", "del", n.bridgeNS())
}

func ipCmd(args ...string) error { return run("", "ip", args...) }

func run(stdin string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// dialIn returns a DialContext that opens its sockets inside namespace ns,
// so the test process (in the host namespace) can reach agents there.
func dialIn(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("open own netns: %w", err)
		}
		defer orig.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("open netns %s: %w", ns, err)
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return nil, fmt.Errorf("enter netns %s: %w", ns, err)
		}
		// The socket is created in ns and stays there.
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if rerr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); rerr == nil {
			runtime.UnlockOSThread()
		} // else: leave the thread locked so the runtime discards it with the goroutine
		return conn, err
	}
}

// namespacesAllowed reports whether this process may create namespaces.
func namespacesAllowed() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("not root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("no ip command: %w", err)
	}
	name := fmt.Sprintf("dvtprobe%d", os.Getpid())
	if err := ipCmd("netns", "add", name); err != nil {
		return err
	}
	_ = ipCmd("netns", "del", name)
	return nil
}
