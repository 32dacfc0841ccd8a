package raftstore

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hashicorp/raft recognises a missing stable-store key by comparing the
// error's text with "not found", so raft-boltdb's error must keep that text
// and this package must never wrap it.
func TestBoltNotFoundText(t *testing.T) {
	assert.Equal(t, "not found", raftboltdb.ErrKeyNotFound.Error())
	s := newSingle(t)
	_, err := s.bolt.GetUint64([]byte("no-such-key"))
	require.Error(t, err)
	assert.Equal(t, "not found", err.Error())
}

func TestConfigValidation(t *testing.T) {
	good := DefaultConfig()
	good.NodeID, good.DataDir, good.RaftAddr = "n1", t.TempDir(), "127.0.0.1:0"
	require.NoError(t, good.Validate())

	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.NodeID = "" }, `NodeID ""`},
		{func(c *Config) { c.DataDir = "" }, `DataDir ""`},
		{func(c *Config) { c.RaftAddr = "nonsense" }, `RaftAddr "nonsense"`},
		{func(c *Config) { c.AdvertiseAddr = "0.0.0.0:9641" }, `AdvertiseAddr "0.0.0.0:9641"`},
		{func(c *Config) { c.WatchHistory = -1 }, "WatchHistory -1"},
		{func(c *Config) { c.SnapshotRetain = -2 }, "SnapshotRetain -2"},
		{func(c *Config) { c.HeartbeatTimeout = 2 * time.Second }, "ElectionTimeout 1s"},
		{func(c *Config) { c.LeaderLeaseTimeout = 3 * time.Second }, "LeaderLeaseTimeout 3s"},
	} {
		cfg := good
		tc.edit(&cfg)
		err := cfg.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig, tc.want)
		assert.Contains(t, err.Error(), tc.want)
		_, err = New(cfg)
		require.ErrorIs(t, err, ErrInvalidConfig, tc.want)
	}

	// Zero knobs take their defaults.
	bare := Config{NodeID: "n1", DataDir: t.TempDir(), RaftAddr: "127.0.0.1:0"}
	require.NoError(t, bare.Validate())
	assert.Equal(t, 10000, bare.withDefaults().WatchHistory)

	// Binding every address needs an address to advertise.
	bare.RaftAddr = "0.0.0.0:0"
	_, err := New(bare)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

// A failed New closes what it opened: the same directory opens again.
func TestNewCleansUpOnError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cfg := testConfig(t, "n1", t.TempDir(), busy.Addr().String())
	cfg.Bootstrap = true
	_, err = New(cfg)
	require.Error(t, err, "the address is taken")

	cfg.RaftAddr = freeAddr(t)
	s := openStore(t, cfg)
	waitLeader(t, s)

	// A second store on the same directory fails instead of waiting.
	cfg2 := cfg
	cfg2.RaftAddr = freeAddr(t)
	_, err = New(cfg2)
	require.Error(t, err)
}

// Close stops everything the store started: Raft, the transport and its
// connections, watchers, leadership subscribers, waiters.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	require.Empty(t, waitNoLeaks(5*time.Second), "left over from earlier tests")
	nodes := startCluster(t, 3, nil)
	var watchers []*Watcher
	for _, s := range nodes {
		w, err := s.Watch(context.Background(), "vm", "", "", 0)
		require.NoError(t, err)
		watchers = append(watchers, w)
		_, _ = s.SubscribeLeadership()
	}
	for i := range 20 {
		apply(t, nodes[0], PutCommand("vm", vm("a"+strconv.Itoa(i), `{}`)))
	}
	for _, s := range nodes {
		require.NoError(t, s.Close())
	}
	for _, w := range watchers {
		ended(t, w)
	}
	assert.Empty(t, waitNoLeaks(5*time.Second))
	_, err := nodes[0].Apply(ctxT(t), PutCommand("vm", vm("late", `{}`)))
	require.ErrorIs(t, err, ErrClosed)
}

// The package imports no davit package but api (DESIGN.md §2).
func TestForbiddenImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "davit" || strings.HasPrefix(path, "davit/") {
				assert.Equal(t, "davit/api", path, "%s imports %s", f, path)
			}
		}
	}
}

func TestHclogBridge(t *testing.T) {
	var buf bytes.Buffer
	l := newHclog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})), "raft")
	l.Named("net").With("peer", "n2").Warn("slow", "rtt", "2s")
	l.Debug("hidden")
	l.StandardLogger(nil).Print("[ERR] boom")
	out := buf.String()
	assert.Contains(t, out, `level=WARN msg=slow logger=raft.net peer=n2 rtt=2s`)
	assert.Contains(t, out, `level=ERROR msg=boom logger=raft`)
	assert.NotContains(t, out, "hidden")
	assert.False(t, l.IsDebug())
	assert.True(t, l.IsWarn())
	assert.Equal(t, hclog.Info, l.GetLevel())
}
