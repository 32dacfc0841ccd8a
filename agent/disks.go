package agent

import (
	"context"
	"fmt"

	"davit/agent/diskctl"
)

// diskController builds the VirtualDisk controller from the agent's
// config: disk files of a local class without a path go to
// DATA/storage/<class>, and image blobs come from the image controllers'
// store (mountImages runs first).
func (a *Agent) diskController() (*diskctl.Controller, error) {
	cfg := diskctl.DefaultConfig()
	cfg.NodeName, cfg.DataDir, cfg.Logger = a.cfg.NodeName, a.cfg.DataDir, a.log
	// A disk a running VM has open grows through the VM controller (QMP
	// block_resize). a.vms is built after this controller, before Run.
	cfg.Online = func(ctx context.Context, path string, size int64) (bool, error) {
		if a.vms == nil {
			return false, nil
		}
		return a.vms.ResizeOnline(ctx, path, size)
	}
	var blobs diskctl.Blobs
	if a.images != nil {
		blobs = a.images
	}
	c, err := diskctl.New(cfg, imageCluster{a}, blobs)
	if err != nil {
		return nil, fmt.Errorf("disks: %w", err)
	}
	return c, nil
}

// mountDisks builds the disk controller; startDisks runs it.
func (a *Agent) mountDisks() error {
	c, err := a.diskController()
	if err != nil {
		return err
	}
	a.disks = c
	return nil
}

// startDisks runs the disk controller until ctx ends; a.wg owns it.
func (a *Agent) startDisks(ctx context.Context) {
	if a.disks == nil {
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.disks.Run(ctx); err != nil {
			a.log.Error("disk controller stopped", "err", err)
		}
	}()
}
