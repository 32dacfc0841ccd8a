package raftstore

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Config configures a Store. Start from DefaultConfig and set NodeID,
// DataDir and RaftAddr. Zero durations and counts mean "the default".
type Config struct {
	// NodeID is this server's Raft ID; stable across restarts.
	NodeID string
	// DataDir holds the Raft files under DataDir/raft: raft.db (the bolt log
	// and stable store) and snapshots/ (the file snapshot store).
	DataDir string
	// RaftAddr is the TCP address the Raft transport binds ("0.0.0.0:9641").
	RaftAddr string
	// AdvertiseAddr is the address other servers dial; empty means RaftAddr,
	// which must then not be an unspecified address.
	AdvertiseAddr string
	// Bootstrap makes a one-server cluster of this node when the data dir
	// has no Raft state yet. Ignored when state exists.
	Bootstrap bool

	// SnapshotThreshold is how many log entries since the last snapshot
	// trigger a new one; SnapshotInterval is how often Raft checks.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is how many entries stay in the log after a snapshot, so
	// a slightly lagging follower catches up without InstallSnapshot.
	TrailingLogs uint64
	// SnapshotRetain is how many snapshots the file store keeps.
	SnapshotRetain int

	// Raft timing; see raft.Config. Tests shorten them.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// TransportTimeout bounds one Raft RPC I/O (InstallSnapshot scales it).
	TransportTimeout time.Duration

	// WatchHistory is how many change events are kept for watch resumption.
	WatchHistory int

	// Logger receives the store's and Raft's logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with production defaults and no identity.
func DefaultConfig() Config {
	return Config{
		SnapshotThreshold:  8192,
		SnapshotInterval:   2 * time.Minute,
		TrailingLogs:       10240,
		SnapshotRetain:     2,
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		CommitTimeout:      50 * time.Millisecond,
		TransportTimeout:   10 * time.Second,
		WatchHistory:       10000,
	}
}

// withDefaults fills every zero knob from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SnapshotThreshold == 0 {
		c.SnapshotThreshold = d.SnapshotThreshold
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = d.SnapshotInterval
	}
	if c.TrailingLogs == 0 {
		c.TrailingLogs = d.TrailingLogs
	}
	if c.SnapshotRetain == 0 {
		c.SnapshotRetain = d.SnapshotRetain
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = d.HeartbeatTimeout
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = d.ElectionTimeout
	}
	if c.LeaderLeaseTimeout == 0 {
		c.LeaderLeaseTimeout = min(d.LeaderLeaseTimeout, c.HeartbeatTimeout)
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = d.CommitTimeout
	}
	if c.TransportTimeout == 0 {
		c.TransportTimeout = d.TransportTimeout
	}
	if c.WatchHistory == 0 {
		c.WatchHistory = d.WatchHistory
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first unusable field, naming it and its value. Zero
// knobs are taken as their defaults, as New does.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field string, value any, why string) error {
		return fmt.Errorf("raftstore: config %s %v: %s: %w", field, value, why, ErrInvalidConfig)
	}
	switch {
	case c.NodeID == "":
		return bad("NodeID", `""`, "required")
	case c.DataDir == "":
		return bad("DataDir", `""`, "required")
	case c.RaftAddr == "":
		return bad("RaftAddr", `""`, "required")
	}
	if _, err := net.ResolveTCPAddr("tcp", c.RaftAddr); err != nil {
		return bad("RaftAddr", fmt.Sprintf("%q", c.RaftAddr), err.Error())
	}
	if c.AdvertiseAddr != "" {
		a, err := net.ResolveTCPAddr("tcp", c.AdvertiseAddr)
		if err != nil {
			return bad("AdvertiseAddr", fmt.Sprintf("%q", c.AdvertiseAddr), err.Error())
		}
		if a.IP == nil || a.IP.IsUnspecified() || a.Port == 0 {
			return bad("AdvertiseAddr", fmt.Sprintf("%q", c.AdvertiseAddr), "needs a specific IP and port")
		}
	}
	switch {
	case c.SnapshotRetain < 1:
		return bad("SnapshotRetain", c.SnapshotRetain, "must be at least 1")
	case c.WatchHistory < 1:
		return bad("WatchHistory", c.WatchHistory, "must be at least 1")
	case c.HeartbeatTimeout < 5*time.Millisecond:
		return bad("HeartbeatTimeout", c.HeartbeatTimeout, "must be at least 5ms")
	case c.ElectionTimeout < c.HeartbeatTimeout:
		return bad("ElectionTimeout", c.ElectionTimeout, "must not be shorter than HeartbeatTimeout "+c.HeartbeatTimeout.String())
	case c.LeaderLeaseTimeout < 5*time.Millisecond || c.LeaderLeaseTimeout > c.HeartbeatTimeout:
		return bad("LeaderLeaseTimeout", c.LeaderLeaseTimeout, "must be between 5ms and HeartbeatTimeout "+c.HeartbeatTimeout.String())
	case c.CommitTimeout < time.Millisecond:
		return bad("CommitTimeout", c.CommitTimeout, "must be at least 1ms")
	case c.SnapshotInterval < 5*time.Millisecond:
		return bad("SnapshotInterval", c.SnapshotInterval, "must be at least 5ms")
	case c.TransportTimeout <= 0:
		return bad("TransportTimeout", c.TransportTimeout, "must be positive")
	}
	return nil
}
