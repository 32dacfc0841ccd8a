package console_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"davit/agent/console"
	"davit/agent/console/consoletest"
	"davit/agent/httpapi"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const banner = "SeaBIOS (fake)\r\nDAVIT-GUEST-READY\r\n"

// node is one agent's console endpoint on a real HTTP server.
type node struct {
	cluster  *consoletest.Cluster
	handler  *console.Handler
	srv      *httptest.Server
	requests atomic.Int32
}

func startNode(t *testing.T, name string) *node {
	t.Helper()
	n := &node{cluster: consoletest.NewCluster(name, t.TempDir())}
	h, err := console.New(console.DefaultConfig(), n.cluster)
	require.NoError(t, err)
	n.handler = h
	mux := http.NewServeMux()
	mux.Handle(console.Pattern, h)
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Close(); n.srv.Close() })
	n.cluster.SetAddr(name, n.srv.Listener.Addr().String())
	return n
}

func (n *node) addr() string { return n.srv.Listener.Addr().String() }

// dial sends the upgrade for ns/name and returns the connection and the
// answer; on 101 the connection carries the console.
func dial(t *testing.T, addr, ns, name string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/namespaces/"+ns+"/virtualmachines/"+name+"/console", nil)
	require.NoError(t, err)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", console.Protocol)
	require.NoError(t, req.Write(c))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, req)
	require.NoError(t, err)
	return c, br, resp
}

func readN(t *testing.T, c net.Conn, r io.Reader, n int) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, n)
	_, err := io.ReadFull(r, buf)
	require.NoError(t, err)
	return string(buf)
}

// talk checks the banner and an echo both ways.
func talk(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	assert.Equal(t, banner, readN(t, c, br, len(banner)))
	_, err := c.Write([]byte("root\r\nuname -a\r\n"))
	require.NoError(t, err)
	assert.Equal(t, "root\r\nuname -a\r\n", readN(t, c, br, len("root\r\nuname -a\r\n")))
}

// settled waits for the goroutine count to fall back to at most base.
// It polls in the test's own goroutine: testify's Eventually would count
// its own goroutines.
func settled(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left: %d, before the session: %d\n%s", runtime.NumGoroutine(), base, stacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func running(uid, node string) console.VM {
	return console.VM{UID: uid, NodeName: node, Phase: "Running"}
}

func TestLocalConsoleBothWays(t *testing.T) {
	a := startNode(t, "a")
	fake := consoletest.StartConsole(t, a.cluster.DataDir(), "uid-1", banner)
	a.cluster.SetVM("default", "web", running("uid-1", "a"))
	base := runtime.NumGoroutine()

	c, br, resp := dial(t, a.addr(), "default", "web")
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, console.Protocol, resp.Header.Get("Upgrade"))
	talk(t, c, br)
	require.NoError(t, c.Close())
	settled(t, base)

	// QEMU serves one client at a time: a second session works once the first left.
	c, br, resp = dial(t, a.addr(), "default", "web")
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	talk(t, c, br)
	require.NoError(t, c.Close())
	settled(t, base)
	assert.Equal(t, 2, fake.Accepts())
}

func TestConsoleEndsWhenQEMUExits(t *testing.T) {
	a := startNode(t, "a")
	fake := consoletest.StartConsole(t, a.cluster.DataDir(), "uid-1", banner)
	a.cluster.SetVM("default", "web", running("uid-1", "a"))
	c, br, resp := dial(t, a.addr(), "default", "web")
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, banner, readN(t, c, br, len(banner)))
	fake.Close()
	rest, err := io.ReadAll(br)
	assert.NoError(t, err, "the server closes the connection when the console ends")
	assert.Empty(t, string(rest))
}

func TestProxyToOwningNode(t *testing.T) {
	a, b := startNode(t, "a"), startNode(t, "b")
	consoletest.StartConsole(t, b.cluster.DataDir(), "uid-2", banner)
	a.cluster.SetVM("prod", "db", running("uid-2", "b"))
	b.cluster.SetVM("prod", "db", running("uid-2", "b"))
	a.cluster.SetAddr("b", b.addr())
	base := runtime.NumGoroutine()

	c, br, resp := dial(t, a.addr(), "prod", "db")
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	talk(t, c, br)
	require.NoError(t, c.Close())
	settled(t, base)
	assert.EqualValues(t, 1, b.requests.Load(), "a forwarded once")
}

func TestCloseEndsSessions(t *testing.T) {
	a, b := startNode(t, "a"), startNode(t, "b")
	consoletest.StartConsole(t, b.cluster.DataDir(), "uid-2", banner)
	a.cluster.SetVM("prod", "db", running("uid-2", "b"))
	b.cluster.SetVM("prod", "db", running("uid-2", "b"))
	a.cluster.SetAddr("b", b.addr())
	c, br, resp := dial(t, a.addr(), "prod", "db")
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	talk(t, c, br)

	done := make(chan struct{})
	go func() { defer close(done); a.handler.Close() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the proxied session")
	}
	_, err := io.ReadAll(br)
	assert.NoError(t, err)
	_, _, resp = dial(t, a.addr(), "prod", "db")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

// status reads an error answer's Status body.
func status(t *testing.T, resp *http.Response) httpapi.Status {
	t.Helper()
	defer resp.Body.Close()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var st httpapi.Status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	assert.Equal(t, "Status", st.Kind)
	assert.Equal(t, resp.StatusCode, st.Code)
	return st
}

func TestErrorsBeforeUpgrade(t *testing.T) {
	a := startNode(t, "a")
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	goneAddr := gone.Addr().String()
	require.NoError(t, gone.Close())
	a.cluster.SetVM("default", "stopped", console.VM{UID: "u1", NodeName: "a", Phase: "Stopped"})
	a.cluster.SetVM("default", "pending", console.VM{UID: "u2", Phase: "Pending"})
	a.cluster.SetVM("default", "nophase", console.VM{UID: "u3", NodeName: "a"})
	a.cluster.SetVM("default", "nosocket", running("u4", "a"))
	a.cluster.SetVM("default", "far", running("u5", "c"))
	a.cluster.SetVM("default", "unknown-node", running("u6", "z"))
	a.cluster.SetAddr("c", goneAddr)

	for _, tc := range []struct {
		name, reason, message string
		code                  int
	}{
		{"missing", "NotFound", "VM default/missing not found", http.StatusNotFound},
		{"stopped", "Conflict", "VM default/stopped is not running (phase Stopped)", http.StatusConflict},
		{"pending", "Conflict", "VM default/pending is not running (phase Pending)", http.StatusConflict},
		{"nophase", "Conflict", "VM default/nophase is not running (phase unknown)", http.StatusConflict},
		{"nosocket", "Conflict", "VM default/nosocket has no console on node a yet", http.StatusConflict},
		{"far", "BadGateway", "VM default/far runs on node c, which cannot be reached", http.StatusBadGateway},
		{"unknown-node", "BadGateway", "VM default/unknown-node runs on node z, whose address is unknown", http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, resp := dial(t, a.addr(), "default", tc.name)
			require.Equal(t, tc.code, resp.StatusCode)
			st := status(t, resp)
			assert.Equal(t, tc.reason, st.Reason)
			assert.Contains(t, st.Message, tc.message)
		})
	}
}

func TestBadRequestsNeverPanic(t *testing.T) {
	a := startNode(t, "a")
	a.cluster.SetVM("default", "web", running("u1", "a"))
	base := a.srv.URL + "/v1/namespaces/default/virtualmachines/"
	for _, tc := range []struct {
		path    string
		headers map[string]string
		code    int
	}{
		{"web/console", nil, http.StatusBadRequest}, // no upgrade headers
		{"web/console", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket"}, http.StatusBadRequest},
		{"web/console", map[string]string{"Connection": "keep-alive", "Upgrade": console.Protocol}, http.StatusBadRequest},
		{"%2e%2e/console", map[string]string{"Connection": "Upgrade", "Upgrade": console.Protocol}, http.StatusNotFound},
		{"a%00b/console", map[string]string{"Connection": "Upgrade", "Upgrade": console.Protocol}, http.StatusNotFound},
	} {
		req, err := http.NewRequest(http.MethodGet, base+tc.path, nil)
		require.NoError(t, err)
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		assert.Equal(t, tc.code, resp.StatusCode, tc.path)
		if resp.StatusCode == http.StatusBadRequest {
			assert.Contains(t, status(t, resp).Message, "Upgrade: davit-console")
		}
		_ = resp.Body.Close()
	}
}

// Two agents with stale views each think the other runs the VM: the
// request is forwarded once, and the second agent answers 409.
func TestForwardedOnce(t *testing.T) {
	a, b := startNode(t, "a"), startNode(t, "b")
	a.cluster.SetVM("default", "web", running("u1", "b"))
	b.cluster.SetVM("default", "web", running("u1", "a"))
	a.cluster.SetAddr("b", b.addr())
	b.cluster.SetAddr("a", a.addr())

	_, _, resp := dial(t, a.addr(), "default", "web")
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	st := status(t, resp)
	assert.Equal(t, "Conflict", st.Reason)
	assert.True(t, strings.Contains(st.Message, "not forwarded again"), st.Message)
	assert.EqualValues(t, 1, a.requests.Load())
	assert.EqualValues(t, 1, b.requests.Load())
}

func TestNewValidates(t *testing.T) {
	_, err := console.New(console.DefaultConfig(), nil)
	assert.ErrorContains(t, err, "cluster is nil")
	cfg := console.DefaultConfig()
	cfg.DialTimeout = 0
	_, err = console.New(cfg, consoletest.NewCluster("a", t.TempDir()))
	assert.ErrorContains(t, err, "DialTimeout 0s")
}

func stacks() string {
	buf := make([]byte, 1<<16)
	return string(buf[:runtime.Stack(buf, true)])
}
