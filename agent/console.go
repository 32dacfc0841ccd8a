package agent

import (
	"encoding/json"
	"errors"
	"fmt"

	"davit/agent/console"
	"davit/api"
	"davit/raftstore"
)

// mountConsole mounts `davit console`'s endpoint (agent/console) on the
// API. http.Server.Shutdown does not track hijacked connections, so the
// handler's Close, which ends every console session and waits for it, is
// registered as a shutdown hook: it must run after a.http exists.
func (a *Agent) mountConsole() error {
	cfg := console.DefaultConfig()
	cfg.Logger = a.log.With("component", "console")
	h, err := console.New(cfg, consoleCluster{a})
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	a.api.Handle(console.Pattern, h)
	a.http.RegisterOnShutdown(h.Close)
	return nil
}

// consoleCluster is the agent as the console handler sees it.
type consoleCluster struct{ a *Agent }

var _ console.Cluster = consoleCluster{}

// VM reads the VM from the local state: its UID, node and phase.
func (c consoleCluster) VM(namespace, name string) (console.VM, error) {
	obj, err := c.a.store.Get("VirtualMachine", namespace, name)
	if errors.Is(err, raftstore.ErrNotFound) {
		return console.VM{}, fmt.Errorf("get VM %s/%s: %w", namespace, name, console.ErrNotFound)
	}
	if err != nil {
		return console.VM{}, fmt.Errorf("get VM %s/%s: %w", namespace, name, err)
	}
	var st api.VirtualMachineStatus
	if len(obj.Status) > 0 {
		if err := json.Unmarshal(obj.Status, &st); err != nil {
			return console.VM{}, fmt.Errorf("decode VM %s/%s status: %w", namespace, name, err)
		}
	}
	return console.VM{UID: obj.Metadata.UID, NodeName: st.NodeName, Phase: string(st.Phase)}, nil
}

func (c consoleCluster) NodeName() string { return c.a.cfg.NodeName }
func (c consoleCluster) DataDir() string  { return c.a.cfg.DataDir }

func (c consoleCluster) NodeHTTPAddr(node string) string { return imageCluster(c).NodeHTTPAddr(node) }
