package e2e

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Bin returns the davit binary under test: $DAVIT_BIN, or bin/davit at the
// module root. Tests skip with the reason when it is missing.
func Bin(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("DAVIT_BIN"); b != "" {
		return b
	}
	_, file, _, _ := runtime.Caller(0)
	b := filepath.Join(filepath.Dir(file), "..", "bin", "davit")
	if _, err := os.Stat(b); err != nil {
		t.Skipf("no davit binary at %s (run `make build` or set DAVIT_BIN)", b)
	}
	return b
}

// FreeAddr returns a loopback address with a free port.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Agent is one agent process started by a test.
type Agent struct {
	t        testing.TB
	Bin      string
	DataDir  string
	Name     string
	HTTPAddr string
	RaftAddr string
	// CgroupParent is the agent's own cgroup parent (--cgroup-parent).
	CgroupParent string
	Args         []string
	proc         *Process
	Log          *LogBuffer
}

// NewAgent prepares (does not start) an agent with its own data dir and ports.
func NewAgent(t testing.TB, name string, extra ...string) *Agent {
	t.Helper()
	a := &Agent{t: t, Bin: Bin(t), DataDir: ShortTempDir(t), Name: name,
		HTTPAddr: FreeAddr(t), RaftAddr: FreeAddr(t), CgroupParent: CgroupParent(name), Args: extra}
	t.Cleanup(func() { CleanupVMs(t, a.DataDir, a.CgroupParent) })
	t.Cleanup(a.Kill)
	return a
}

// URL is the agent's API base URL.
func (a *Agent) URL() string { return "http://" + a.HTTPAddr }

// Start starts the process (again, after a kill) and waits for /readyz.
func (a *Agent) Start() {
	a.t.Helper()
	a.StartNoWait()
	a.WaitReady(30 * time.Second)
}

// StartNoWait starts the process without waiting for it to serve.
func (a *Agent) StartNoWait() {
	a.t.Helper()
	args := append([]string{"agent", "--data-dir", a.DataDir, "--node-name", a.Name,
		"--http-addr", a.HTTPAddr, "--raft-addr", a.RaftAddr, "--log-level", "debug", "--cgroup-parent", a.CgroupParent}, a.Args...)
	a.Log = &LogBuffer{}
	p, err := StartProcess(exec.Command(a.Bin, args...), a.Log)
	if err != nil {
		a.t.Fatalf("start agent %s: %v", a.Name, err)
	}
	a.proc = p
}

// WaitReady waits until /readyz answers 200.
func (a *Agent) WaitReady(d time.Duration) {
	a.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if exited, _ := a.proc.Exited(); exited {
			a.t.Fatalf("agent %s exited: %s\n%s", a.Name, a.proc, a.Log)
		}
		if resp, err := http.Get(a.URL() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.t.Fatalf("agent %s not ready after %s\n%s", a.Name, d, a.Log)
}

// Kill sends SIGKILL (kill -9) by PID and waits for the process to end.
func (a *Agent) Kill() { a.proc.Signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for a clean exit.
func (a *Agent) Stop() { a.proc.Signal(syscall.SIGTERM) }

// Exited reports whether the process has ended, and its exit code.
func (a *Agent) Exited() (bool, int) { return a.proc.Exited() }

// CLI runs `davit --addr <agent> args...` with stdin and returns stdout,
// stderr and the exit code.
func (a *Agent) CLI(stdin string, args ...string) (string, string, int) {
	a.t.Helper()
	out, errOut, code, err := RunCLI(exec.Command(a.Bin, append([]string{"--addr", a.URL()}, args...)...), stdin)
	if err != nil {
		a.t.Fatalf("run davit %v: %v", args, err)
	}
	return out, errOut, code
}
