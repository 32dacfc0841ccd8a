package consoletest

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"davit/agent/console"
	"davit/qemu"
)

// Console is a fake guest serial console on a unix socket. Like QEMU it
// serves one client at a time; each client first reads Banner, then gets
// back every byte it writes.
type Console struct {
	Path   string
	Banner string

	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
	accepts int
}

// StartConsole serves a fake console at the socket path of VM uid under
// dataDir, and stops it (waiting for its goroutines) at the end of t.
func StartConsole(t testing.TB, dataDir, uid, banner string) *Console {
	t.Helper()
	path := qemu.PathsFor(dataDir, uid).ConsoleSocket()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatalf("create console dir: %v", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen console %s: %v", path, err)
	}
	c := &Console{Path: path, Banner: banner, ln: ln, conns: map[net.Conn]bool{}}
	c.wg.Add(1)
	go c.serve()
	t.Cleanup(c.Close)
	return c
}

// serve handles one client after the other, as QEMU's chardev does.
func (c *Console) serve() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		c.conns[conn] = true
		c.accepts++
		c.mu.Unlock()
		if _, err := io.WriteString(conn, c.Banner); err == nil {
			_, _ = io.Copy(conn, conn) // the guest echoes
		}
		_ = conn.Close()
		c.mu.Lock()
		delete(c.conns, conn)
		c.mu.Unlock()
	}
}

// Accepts counts the clients served so far.
func (c *Console) Accepts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepts
}

// Close stops serving, drops the client and waits.
func (c *Console) Close() {
	_ = c.ln.Close()
	c.mu.Lock()
	for conn := range c.conns {
		_ = conn.Close()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// Cluster is a static console.Cluster: one node's view of the VMs.
type Cluster struct {
	Node  string
	Dir   string
	mu    sync.Mutex
	vms   map[string]console.VM
	addrs map[string]string
}

// NewCluster returns node's view, with its data dir.
func NewCluster(node, dataDir string) *Cluster {
	return &Cluster{Node: node, Dir: dataDir, vms: map[string]console.VM{}, addrs: map[string]string{}}
}

// SetVM adds or replaces a VM in this view.
func (c *Cluster) SetVM(namespace, name string, vm console.VM) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vms[namespace+"/"+name] = vm
}

// SetAddr sets a node's HTTP address (host:port).
func (c *Cluster) SetAddr(node, addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addrs[node] = addr
}

// VM implements console.Cluster.
func (c *Cluster) VM(namespace, name string) (console.VM, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	vm, ok := c.vms[namespace+"/"+name]
	if !ok {
		return console.VM{}, fmt.Errorf("get VM %s/%s: %w", namespace, name, console.ErrNotFound)
	}
	return vm, nil
}

// NodeName implements console.Cluster.
func (c *Cluster) NodeName() string { return c.Node }

// NodeHTTPAddr implements console.Cluster.
func (c *Cluster) NodeHTTPAddr(node string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs[node]
}

// DataDir implements console.Cluster.
func (c *Cluster) DataDir() string { return c.Dir }
