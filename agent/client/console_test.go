package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"davit/agent/client"
	"davit/agent/console"
	"davit/agent/console/consoletest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// consoleServer is an agent's console endpoint (the real handler) over a
// fake QEMU console socket.
func consoleServer(t *testing.T) (*client.Client, *consoletest.Cluster) {
	t.Helper()
	cl := consoletest.NewCluster("n1", t.TempDir())
	h, err := console.New(console.DefaultConfig(), cl)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(console.Pattern, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { h.Close(); srv.Close() })
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	return c, cl
}

func TestConsole(t *testing.T) {
	c, cl := consoleServer(t)
	consoletest.StartConsole(t, cl.DataDir(), "u1", "login: ")
	cl.SetVM("prod", "web", console.VM{UID: "u1", NodeName: "n1", Phase: "Running"})

	s, err := c.Console(context.Background(), "prod", "web")
	require.NoError(t, err)
	defer s.Close()
	buf := make([]byte, len("login: "))
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	assert.Equal(t, "login: ", string(buf))
	_, err = s.Write([]byte("root\n"))
	require.NoError(t, err)
	buf = make([]byte, len("root\n"))
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	assert.Equal(t, "root\n", string(buf))
	require.NoError(t, s.Close())
}

func TestConsoleContextEndsSession(t *testing.T) {
	c, cl := consoleServer(t)
	consoletest.StartConsole(t, cl.DataDir(), "u1", "x")
	cl.SetVM("prod", "web", console.VM{UID: "u1", NodeName: "n1", Phase: "Running"})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.Console(ctx, "prod", "web")
	require.NoError(t, err)
	defer s.Close()
	buf := make([]byte, 1)
	_, err = io.ReadFull(s, buf)
	require.NoError(t, err)
	cancel()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(s); done <- err }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after its context ended")
	}
}

func TestConsoleErrors(t *testing.T) {
	c, cl := consoleServer(t)
	cl.SetVM("prod", "off", console.VM{UID: "u2", NodeName: "n1", Phase: "Stopped"})

	_, err := c.Console(context.Background(), "prod", "nope")
	assert.True(t, client.IsNotFound(err), "%v", err)
	assert.EqualError(t, err, "VM prod/nope not found")

	_, err = c.Console(context.Background(), "prod", "off")
	assert.True(t, client.IsConflict(err), "%v", err)
	assert.EqualError(t, err, "VM prod/off is not running (phase Stopped)")

	_, err = c.Console(context.Background(), "prod", "")
	assert.ErrorContains(t, err, "a namespace and a VM name are required")

	// An agent without the endpoint (an older one) answers 404 for the path.
	old := httptest.NewServer(http.NotFoundHandler())
	defer old.Close()
	oc, err := client.New(old.URL)
	require.NoError(t, err)
	_, err = oc.Console(context.Background(), "prod", "web")
	assert.True(t, client.IsNotFound(err), "%v", err)
}
