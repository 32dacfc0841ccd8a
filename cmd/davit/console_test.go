package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"davit/agent/console"
	"davit/agent/console/consoletest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// consoleAgent serves the real console endpoint over a fake QEMU console
// that writes banner and echoes.
func consoleAgent(t *testing.T, banner string) string {
	t.Helper()
	cl := consoletest.NewCluster("n1", t.TempDir())
	consoletest.StartConsole(t, cl.DataDir(), "u1", banner)
	cl.SetVM("prod", "web", console.VM{UID: "u1", NodeName: "n1", Phase: "Running"})
	cl.SetVM("default", "off", console.VM{UID: "u2", NodeName: "n1", Phase: "Stopped"})
	h, err := console.New(console.DefaultConfig(), cl)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(console.Pattern, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { h.Close(); srv.Close() })
	return srv.URL
}

func TestConsoleBothWaysThenEscape(t *testing.T) {
	addr := consoleAgent(t, "login: ")
	in, typing := io.Pipe()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"--addr", addr, "console", "vm", "web", "-n", "prod"}, in, &out, &errb)
	}()
	_, err := typing.Write([]byte("root\r"))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return out.String() == "login: root\r" }, 5*time.Second, 10*time.Millisecond,
		"stdout %q", out.String())
	_, err = typing.Write([]byte("ls\x1dignored"))
	require.NoError(t, err)
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-] did not detach")
	}
	assert.Equal(t, "Connected to vm web (escape: Ctrl-])\n", errb.String())
	_ = typing.Close()
}

func TestConsoleForms(t *testing.T) {
	addr := consoleAgent(t, "")
	for _, args := range [][]string{
		{"console", "web", "-n", "prod"},
		{"console", "-n", "prod", "virtualmachine", "web"},
		{"console", "virtualmachines/web", "--namespace=prod"},
	} {
		r := davit(t, nil, "\x1d", append([]string{"--addr", addr}, args...)...)
		assert.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		assert.Equal(t, "Connected to vm web (escape: Ctrl-])\n", r.stderr, args)
	}
}

func TestConsoleErrors(t *testing.T) {
	addr := consoleAgent(t, "")
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"console", "nope"}, "Error from server (NotFound): VM default/nope not found"},
		{[]string{"console", "vm", "off"}, "Error from server (Conflict): VM default/off is not running (phase Stopped)"},
		{[]string{"console", "vm", "web"}, "Error from server (NotFound): VM default/web not found"},
		{[]string{"console", "cvi", "web"}, "console works on VMs only"},
		{[]string{"console"}, "console needs one VM name"},
		{[]string{"console", "vm", "a", "b"}, "console needs one VM name"},
		{[]string{"console", "vm/"}, "console needs one VM name"},
	} {
		r := davit(t, nil, "", append([]string{"--addr", addr}, tc.args...)...)
		assert.Equal(t, 1, r.code, tc.args)
		assert.True(t, strings.Contains(r.stderr, tc.stderr), "%v: %q", tc.args, r.stderr)
	}
}
