package qemu

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// TestMain fails the run when a goroutine started by this package's
// non-test code (or go-qemu's reader) outlives the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		os.Exit(startAndExit(dir))
	}
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(3 * time.Second); leaked != "" {
			os.Stderr.WriteString("leaked goroutines:\n" + leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// helperEnv makes the test binary a stand-in agent: it starts the test
// guest in the data dir named by the variable and exits at once, leaving
// QEMU behind (see TestQEMUSurvivesItsParent).
const helperEnv = "DAVIT_QEMU_TEST_START_AND_EXIT"

func startAndExit(dataDir string) int {
	g, err := qemutest.Build(context.Background(), os.Getenv("DAVIT_GUEST_DIR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	inst, err := Start(context.Background(), DefaultConfig(dataDir), SpecForTestGuest("orphan", "orphan-1", g.Dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(inst.PID())
	return 0 // no Stop, no Close: the "agent" just dies
}

func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "leakedGoroutines") {
				continue
			}
			for _, line := range strings.Split(g, "\n") {
				ours := strings.Contains(line, "/qemu/") && !strings.Contains(line, "_test.go:")
				if strings.Contains(line, ".go:") && (ours || strings.Contains(line, "go-qemu")) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testLogger writes the package's logs into the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testConfig is a Config in a fresh short data dir, with short timeouts.
func testConfig(t *testing.T) Config {
	cfg := DefaultConfig(qemutest.ShortDir(t))
	cfg.Logger = testLogger(t)
	cfg.StartTimeout = 30 * time.Second
	return cfg
}

// startGuest starts the test guest (direct kernel boot) and registers a
// cleanup that kills QEMU by PID and closes the handle.
func startGuest(t *testing.T, cfg Config, spec Spec) *Instance {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inst, err := Start(ctx, cfg, spec)
	require.NoError(t, err)
	killOnCleanup(t, inst.PID())
	t.Cleanup(func() { _ = inst.Close() })
	return inst
}

// killOnCleanup kills pid at the end of the test if it is still alive.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if processAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
		_ = reap(pid) // ours: collect it (ECHILD otherwise)
	})
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// console reads a VM's serial console line by line.
type console struct {
	conn  net.Conn
	lines chan string
	wg    sync.WaitGroup
}

func openConsole(t *testing.T, socket string) *console {
	t.Helper()
	conn, err := net.Dial("unix", socket)
	require.NoError(t, err)
	c := &console{conn: conn, lines: make(chan string, 1024)}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.lines)
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			select {
			case c.lines <- strings.TrimRight(sc.Text(), "\r"):
			default:
			}
		}
	}()
	t.Cleanup(func() { c.conn.Close(); c.wg.Wait() })
	return c
}

// waitLine returns the first line matching re within d.
func (c *console) waitLine(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("console closed before %q", re)
			}
			if re.MatchString(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("no console line matching %q in %v", re, d)
		}
	}
}

var tickRE = regexp.MustCompile(`^tick (\d+)$`)

// waitTick returns the next tick number.
func (c *console) waitTick(t *testing.T, d time.Duration) int {
	t.Helper()
	m := tickRE.FindStringSubmatch(c.waitLine(t, tickRE, d))
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

func threadName(pid, tid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/comm", pid, tid))
	return strings.TrimSpace(string(b))
}
