package agent

import (
	"context"

	"davit/agent/vmopctl"
)

// startVMOPs runs the VirtualMachineOperation controller until ctx ends; it
// acts only while this agent leads. a.wg owns its goroutine. It reads and
// writes the store through the same adapter as the image controllers.
func (a *Agent) startVMOPs(ctx context.Context) {
	cfg := vmopctl.DefaultConfig()
	cfg.Logger = a.log
	c, err := vmopctl.New(cfg, imageCluster{a})
	if err != nil {
		a.log.Error("vmop controller not started", "err", err)
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := c.Run(ctx); err != nil {
			a.log.Error("vmop controller stopped", "err", err)
		}
	}()
}
