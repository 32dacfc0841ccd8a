package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Config is everything an agent needs to start. Sources, lowest priority
// first: DefaultConfig, the YAML file named by --config, DAVIT_* environment
// variables, command-line flags.
type Config struct {
	DataDir   string `json:"dataDir"`
	NodeName  string `json:"nodeName"`
	HTTPAddr  string `json:"httpAddr"`
	RaftAddr  string `json:"raftAddr"`
	LogLevel  string `json:"logLevel"`
	LogFormat string `json:"logFormat"`
	// AdvertiseHTTP and AdvertiseRaft are the addresses other members use to
	// reach this agent; they default to HTTPAddr and RaftAddr.
	AdvertiseHTTP string `json:"advertiseHTTP"`
	AdvertiseRaft string `json:"advertiseRaft"`
	// Join is the HTTP address of a member to join, JoinToken its secret.
	Join      string `json:"join"`
	JoinToken string `json:"joinToken"`
	// MaxBodyBytes caps request bodies of the resource API (413 above it).
	MaxBodyBytes int64 `json:"maxBodyBytes"`
	// WriteTimeout bounds how long a write waits for a leader (503 after).
	WriteTimeout Duration `json:"writeTimeout"`
	// SnapshotThreshold is the number of log entries between snapshots.
	SnapshotThreshold uint64 `json:"snapshotThreshold"`
	// SnapshotInterval is how often Raft checks whether to snapshot.
	SnapshotInterval Duration `json:"snapshotInterval"`
	// Images tunes the image controllers (images.go).
	Images ImagesConfig `json:"images"`
	// CPUFacts, when set, is a recorded CPU facts file used instead of
	// probing this machine (test clusters simulate different CPUs).
	CPUFacts string `json:"cpuFacts"`
	// CgroupParent names davit's cgroup ("/davit" on v1, "davit.slice" on
	// v2); agents sharing one machine (test clusters) need their own.
	CgroupParent string `json:"cgroupParent"`
	// Accelerator is auto (KVM where the CPU and /dev/kvm allow, else
	// TCG), kvm or tcg.
	Accelerator string `json:"accelerator"`
	// Version is the agent's version, reported in status and its Node.
	Version string `json:"-"`
}

// DefaultConfig returns the embedded defaults: a single-node agent on
// loopback that keeps its state in /var/lib/davit.
func DefaultConfig() Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "davit"
	}
	return Config{
		DataDir:           "/var/lib/davit",
		NodeName:          strings.ToLower(host),
		HTTPAddr:          "127.0.0.1:9640",
		RaftAddr:          "127.0.0.1:9641",
		LogLevel:          "info",
		LogFormat:         "text",
		MaxBodyBytes:      8 << 20,
		WriteTimeout:      Duration{10 * time.Second},
		SnapshotThreshold: 8192,
		SnapshotInterval:  Duration{30 * time.Second},
		Version:           "dev",
		CgroupParent:      "davit",
		Accelerator:       "auto",
	}
}

// LoadFile merges the YAML file at path into c. Unknown keys are errors.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	return nil
}

// Validate checks the configuration and fills in derived defaults. Errors
// name the field and its value.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("dataDir: must not be empty"))
	} else if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("nodeName: must not be empty"))
	}
	for _, a := range []struct{ name, val string }{{"httpAddr", c.HTTPAddr}, {"raftAddr", c.RaftAddr}} {
		if _, _, err := net.SplitHostPort(a.val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port: %w", a.name, a.val, err))
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("logFormat: %q is not text or json", c.LogFormat))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("logLevel: %q is not debug, info, warn or error", c.LogLevel))
	}
	switch c.Accelerator {
	case "", "auto", "kvm", "tcg":
	default:
		errs = append(errs, fmt.Errorf("accelerator: %q is not auto, kvm or tcg", c.Accelerator))
	}
	if c.CgroupParent == "" || strings.ContainsAny(c.CgroupParent, "/ ") {
		errs = append(errs, fmt.Errorf("cgroupParent: %q must be one path element", c.CgroupParent))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("maxBodyBytes: %d must be positive", c.MaxBodyBytes))
	}
	if c.AdvertiseHTTP == "" {
		c.AdvertiseHTTP = c.HTTPAddr
	}
	if c.AdvertiseRaft == "" {
		c.AdvertiseRaft = c.RaftAddr
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration that reads "30s" from the config file.
type Duration struct{ time.Duration }

// UnmarshalJSON accepts a Go duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		d.Duration = v
		return nil
	}
	return json.Unmarshal(b, &d.Duration)
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }
