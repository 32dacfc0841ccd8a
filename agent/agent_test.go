package agent

import (
	"log/slog"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// New fails cleanly (no panic, listeners closed) when a port is taken.
func TestNewFailsCleanlyOnBusyPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		return l.Addr().String()
	}
	log := slog.New(slog.DiscardHandler)

	cfg := DefaultConfig()
	cfg.DataDir, cfg.NodeName = t.TempDir(), "n1"
	cfg.HTTPAddr, cfg.RaftAddr = busy.Addr().String(), free()
	_, err = New(cfg, log)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "listen http")

	cfg.HTTPAddr, cfg.RaftAddr = free(), busy.Addr().String()
	_, err = New(cfg, log)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open store")
	// The HTTP listener New opened was closed again.
	l, err := net.Listen("tcp", cfg.HTTPAddr)
	require.NoError(t, err)
	l.Close()
}
