package agent

import (
	"context"
	"encoding/json"
	"time"

	"davit/agent/classstatus"
	"davit/api"
	"davit/raftstore"
)

// syncClassStatuses (leader) recomputes every VirtualMachineClass's status
// from the nodes and writes the ones that changed.
func (a *Agent) syncClassStatuses(ctx context.Context) {
	nodeObjs, _ := a.store.List("Node", "", nil)
	var nodes []*api.Node
	for _, o := range nodeObjs {
		if r, err := api.FromObject(o); err == nil {
			nodes = append(nodes, r.(*api.Node))
		}
	}
	classes, _ := a.store.List("VirtualMachineClass", "", nil)
	now := time.Now()
	for _, o := range classes {
		r, err := api.FromObject(o)
		if err != nil {
			continue
		}
		c := r.(*api.VirtualMachineClass)
		st := classstatus.Compute(c, nodes, now)
		if sameJSON(c.Status, st) {
			continue
		}
		b, err := json.Marshal(st)
		if err != nil {
			continue
		}
		upd := o.DeepCopy()
		upd.Status = b
		if res, err := a.apply(ctx, raftstore.UpdateStatusCommand(o.Kind, upd)); err != nil || res.Err != nil {
			a.log.Debug("write class status", "class", o.Metadata.Name, "err", err)
		}
	}
}
