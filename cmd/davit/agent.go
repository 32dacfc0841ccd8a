package main

import (
	"fmt"
	"os/signal"
	"syscall"

	"davit/agent"

	"github.com/urfave/cli/v2"
)

// agentCommand is `davit agent`: the daemon. Flags win over DAVIT_*
// environment variables, which win over the --config file.
func agentCommand() *cli.Command {
	def := agent.DefaultConfig()
	str := func(name, env, val, usage string) *cli.StringFlag {
		return &cli.StringFlag{Name: name, EnvVars: []string{env}, Value: val, Usage: usage}
	}
	return &cli.Command{
		Name:  "agent",
		Usage: "run the davit agent (one per node)",
		Flags: []cli.Flag{
			str("config", "DAVIT_CONFIG", "", "YAML config file (flags and DAVIT_* variables override it)"),
			str("data-dir", "DAVIT_DATA_DIR", def.DataDir, "state directory (Raft log, snapshots, join token)"),
			str("node-name", "DAVIT_NODE_NAME", def.NodeName, "this node's name (Raft server ID)"),
			str("http-addr", "DAVIT_HTTP_ADDR", def.HTTPAddr, "HTTP API listen address"),
			str("raft-addr", "DAVIT_RAFT_ADDR", def.RaftAddr, "Raft listen address"),
			str("advertise-http", "DAVIT_ADVERTISE_HTTP", "", "HTTP address other members use (default: --http-addr)"),
			str("advertise-raft", "DAVIT_ADVERTISE_RAFT", "", "Raft address other members use (default: --raft-addr)"),
			str("join", "DAVIT_JOIN", "", "HTTP address (host:port) of a cluster member to join"),
			str("join-token", "DAVIT_JOIN_TOKEN", "", "the cluster's join token (`davit cluster token` prints it)"),
			str("log-level", "DAVIT_LOG_LEVEL", def.LogLevel, "debug, info, warn or error"),
			str("log-format", "DAVIT_LOG_FORMAT", def.LogFormat, "text or json"),
			str("cpu-facts", "DAVIT_CPU_FACTS", "", "recorded CPU facts file to use instead of probing this machine"),
			str("cgroup-parent", "DAVIT_CGROUP_PARENT", "", "name of davit's parent cgroup (default davit)"),
			str("accelerator", "DAVIT_ACCELERATOR", "", "auto, kvm or tcg (default auto)"),
			&cli.Uint64Flag{Name: "snapshot-threshold", EnvVars: []string{"DAVIT_SNAPSHOT_THRESHOLD"},
				Value: def.SnapshotThreshold, Usage: "Raft log entries between snapshots"},
			&cli.DurationFlag{Name: "snapshot-interval", EnvVars: []string{"DAVIT_SNAPSHOT_INTERVAL"},
				Value: def.SnapshotInterval.Duration, Usage: "how often Raft checks whether to snapshot"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := agentConfig(c)
			if err != nil {
				return cli.Exit(err.Error(), 2)
			}
			log := agent.NewLogger(c.App.ErrWriter, cfg.LogLevel, cfg.LogFormat)
			ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			a, err := agent.New(cfg, log)
			if err != nil {
				return cli.Exit(fmt.Sprintf("agent: %v", err), 1)
			}
			if err := a.Run(ctx); err != nil && ctx.Err() == nil {
				return cli.Exit(fmt.Sprintf("agent: %v", err), 1)
			}
			return nil
		},
	}
}

// agentConfig layers defaults, the config file, then flags and environment
// (urfave sets IsSet for both a flag and its DAVIT_* variable).
func agentConfig(c *cli.Context) (agent.Config, error) {
	cfg := agent.DefaultConfig()
	cfg.Version = version
	if f := c.String("config"); f != "" {
		if err := cfg.LoadFile(f); err != nil {
			return cfg, err
		}
	}
	set := func(name string, dst *string) {
		if c.IsSet(name) || *dst == "" {
			*dst = c.String(name)
		}
	}
	set("data-dir", &cfg.DataDir)
	set("node-name", &cfg.NodeName)
	set("http-addr", &cfg.HTTPAddr)
	set("raft-addr", &cfg.RaftAddr)
	set("advertise-http", &cfg.AdvertiseHTTP)
	set("advertise-raft", &cfg.AdvertiseRaft)
	set("join", &cfg.Join)
	set("join-token", &cfg.JoinToken)
	set("log-level", &cfg.LogLevel)
	set("log-format", &cfg.LogFormat)
	set("cpu-facts", &cfg.CPUFacts)
	set("cgroup-parent", &cfg.CgroupParent)
	set("accelerator", &cfg.Accelerator)
	if c.IsSet("snapshot-threshold") || cfg.SnapshotThreshold == 0 {
		cfg.SnapshotThreshold = c.Uint64("snapshot-threshold")
	}
	if c.IsSet("snapshot-interval") || cfg.SnapshotInterval.Duration == 0 {
		cfg.SnapshotInterval.Duration = c.Duration("snapshot-interval")
	}
	return cfg, cfg.Validate()
}
