package agent

import (
	"context"
	"encoding/json"
	"net"

	"davit/api"
	"davit/raftstore"
)

// desiredNodeStatus computes this agent's Node status from its host facts;
// the Ready condition is the leader's to set and is carried over.
func (a *Agent) desiredNodeStatus(f hostFacts, old *api.NodeStatus) api.NodeStatus {
	host, _, _ := net.SplitHostPort(a.cfg.AdvertiseHTTP)
	alloc := max(f.MemoryBytes-systemReservedMemory, 0)
	cpus := api.IntOrStringFromInt(int64(f.CPUs))
	st := api.NodeStatus{
		Capacity:    api.ResourceAmounts{CPU: cpus, Memory: api.NewQuantity(f.MemoryBytes)},
		Allocatable: api.ResourceAmounts{CPU: cpus, Memory: api.NewQuantity(alloc)},
		Addresses: []api.NodeAddress{{Type: "InternalIP", Address: host}, {Type: addrHTTP, Address: a.cfg.AdvertiseHTTP},
			{Type: addrRaft, Address: a.cfg.AdvertiseRaft}},
		NodeInfo: api.NodeInfo{AgentVersion: a.cfg.Version, Accelerator: f.Accelerator, KernelVersion: f.KernelVersion,
			RaftAddress: a.cfg.AdvertiseRaft},
	}
	if old != nil {
		st.Conditions = old.Conditions
	}
	return st
}

// syncOwnNode creates this agent's Node object if missing and writes its
// status when it differs from what is stored.
func (a *Agent) syncOwnNode(ctx context.Context, f hostFacts) error {
	obj, err := a.store.Get("Node", "", a.cfg.NodeName)
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		obj = &api.Object{TypeMeta: api.TypeMeta{APIVersion: api.DavitVersion, Kind: "Node"},
			Metadata: api.ObjectMeta{Name: a.cfg.NodeName, Labels: map[string]string{
				"kubernetes.io/hostname": a.cfg.NodeName}}}
		obj.Spec = json.RawMessage(`{}`)
		res, err := a.apply(ctx, raftstore.CreateCommand("Node", obj))
		if err != nil {
			return err
		}
		if res.Err != nil && !isAlreadyExists(res.Err) {
			return res.Err
		}
		if obj, err = a.store.Get("Node", "", a.cfg.NodeName); err != nil {
			return err
		}
	}
	var old api.NodeStatus
	_ = json.Unmarshal(obj.Status, &old)
	want := a.desiredNodeStatus(f, &old)
	return a.writeStatusIfChanged(ctx, obj, want)
}

// writeStatusIfChanged writes status when it differs from obj's.
func (a *Agent) writeStatusIfChanged(ctx context.Context, obj *api.Object, status any) error {
	b, err := json.Marshal(status)
	if err != nil {
		return err
	}
	if sameJSON(obj.Status, json.RawMessage(b)) {
		return nil
	}
	upd := obj.DeepCopy()
	upd.Status = b
	res, err := a.apply(ctx, raftstore.UpdateStatusCommand(obj.Kind, upd))
	if err != nil {
		return err
	}
	return res.Err
}
