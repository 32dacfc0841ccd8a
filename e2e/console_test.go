package e2e

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"

	"davit/agent/console"
	"davit/agent/console/consoletest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleCLI runs the davit binary's `console vm NAME` with stdin from
// a pipe that ends in Ctrl-], against the real console endpoint over a
// fake QEMU console (the VM controller that would start a real one is not
// there yet).
func TestConsoleCLI(t *testing.T) {
	bin := Bin(t)
	cl := consoletest.NewCluster("n1", t.TempDir())
	consoletest.StartConsole(t, cl.DataDir(), "u1", "DAVIT-GUEST-READY\r\n")
	cl.SetVM("default", "web", console.VM{UID: "u1", NodeName: "n1", Phase: "Running"})
	h, err := console.New(console.DefaultConfig(), cl)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(console.Pattern, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { h.Close(); srv.Close() })

	_, stderr, code, err := RunCLI(exec.Command(bin, "--addr", srv.URL, "console", "vm", "web"), "uname -a\r\x1d")
	require.NoError(t, err)
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, "Connected to vm web (escape: Ctrl-])\n", stderr)

	_, stderr, code, err = RunCLI(exec.Command(bin, "--addr", srv.URL, "console", "vm", "nope"), "\x1d")
	require.NoError(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "VM default/nope not found")
}
