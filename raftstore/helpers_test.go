package raftstore

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"davit/api"
)

// TestMain fails the run when goroutines of this package or of the hashicorp
// libraries outlive the tests (every test closes what it opens).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoLeaks(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left behind after all tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines returns the stacks of goroutines running code of this
// package or of hashicorp's libraries, other than the caller's.
func leakedGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*M)") {
			continue // the caller, and test goroutines
		}
		if strings.Contains(g, "davit/raftstore.") || strings.Contains(g, "github.com/hashicorp/") {
			leaked = append(leaked, g)
		}
	}
	return strings.Join(leaked, "\n\n")
}

func waitNoLeaks(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		leaked := leakedGoroutines()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testWriter sends logs to the test's output until the test ends; late
// writes from goroutines that outlive a test would otherwise panic.
type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		_, _ = w.t.Output().Write(p)
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	level := slog.LevelWarn
	if os.Getenv("RAFTSTORE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// testConfig is a fast-timing config for one node on loopback.
func testConfig(t *testing.T, id, dir, addr string) Config {
	cfg := DefaultConfig()
	cfg.NodeID = id
	cfg.DataDir = dir
	cfg.RaftAddr = addr
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 100 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.TransportTimeout = 2 * time.Second
	cfg.Logger = testLogger(t)
	return cfg
}

// openStore opens a store and closes it at the end of the test (Close is
// idempotent, so tests may close it earlier).
func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// newSingle starts a bootstrapped one-node store and waits until it leads.
func newSingle(t *testing.T, edit ...func(*Config)) *Store {
	t.Helper()
	cfg := testConfig(t, "n1", t.TempDir(), freeAddr(t))
	cfg.Bootstrap = true
	for _, e := range edit {
		e(&cfg)
	}
	s := openStore(t, cfg)
	waitLeader(t, s)
	return s
}

func waitLeader(t *testing.T, s *Store) {
	t.Helper()
	require.Eventually(t, s.IsLeader, 5*time.Second, 10*time.Millisecond, "node %s never became leader", s.NodeID())
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func apply(t *testing.T, s *Store, cmd Command) *Result {
	t.Helper()
	res, err := s.Apply(ctxT(t), cmd)
	require.NoError(t, err)
	return res
}

// obj builds an object; spec is JSON ("" for none).
func obj(namespace, name, spec string) *api.Object {
	o := &api.Object{Metadata: api.ObjectMeta{Namespace: namespace, Name: name}}
	if spec != "" {
		o.Spec = json.RawMessage(spec)
	}
	return o
}

func vm(name, spec string) *api.Object { return obj("default", name, spec) }
