package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"time"

	"davit/api"
	"davit/raftstore"
)

// nodeStatus is the status this agent publishes in its own Node object.
type nodeStatus struct {
	Capacity    nodeResources `json:"capacity,omitzero"`
	Allocatable nodeResources `json:"allocatable,omitzero"`
	Addresses   []nodeAddr    `json:"addresses,omitempty"`
	NodeInfo    nodeInfo      `json:"nodeInfo,omitzero"`
	Conditions  []condition   `json:"conditions,omitempty"`
}

type nodeResources struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

type nodeAddr struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

type nodeInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	Accelerator   string `json:"accelerator,omitempty"`
	KernelVersion string `json:"kernelVersion,omitempty"`
	RaftAddress   string `json:"raftAddress,omitempty"`
}

// condition is a metav1.Condition.
type condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime *api.Time `json:"lastTransitionTime,omitempty"`
}

// desiredNodeStatus computes this agent's Node status from its host facts;
// the Ready condition is the leader's to set and is carried over.
func (a *Agent) desiredNodeStatus(f hostFacts, old *nodeStatus) nodeStatus {
	host, _, _ := net.SplitHostPort(a.cfg.AdvertiseHTTP)
	alloc := f.MemoryBytes - systemReservedMemory
	if alloc < 0 {
		alloc = 0
	}
	st := nodeStatus{
		Capacity:    nodeResources{CPU: strconv.Itoa(f.CPUs), Memory: memString(f.MemoryBytes)},
		Allocatable: nodeResources{CPU: strconv.Itoa(f.CPUs), Memory: memString(alloc)},
		Addresses: []nodeAddr{{Type: "InternalIP", Address: host}, {Type: addrHTTP, Address: a.cfg.AdvertiseHTTP},
			{Type: addrRaft, Address: a.cfg.AdvertiseRaft}},
		NodeInfo: nodeInfo{AgentVersion: a.cfg.Version, Accelerator: f.Accelerator, KernelVersion: f.KernelVersion,
			RaftAddress: a.cfg.AdvertiseRaft},
	}
	if old != nil {
		st.Conditions = old.Conditions
	}
	return st
}

// memString prints bytes as a Kubernetes quantity in Ki, as kubelets do.
func memString(b int64) string { return fmt.Sprintf("%dKi", b/1024) }

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
	var old nodeStatus
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
	if jsonEqual(obj.Status, b) {
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

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func setCondition(conds []condition, c condition, now time.Time) []condition {
	for i := range conds {
		if conds[i].Type == c.Type {
			if conds[i].Status != c.Status {
				c.LastTransitionTime = api.NewTime(now)
			} else {
				c.LastTransitionTime = conds[i].LastTransitionTime
			}
			conds[i] = c
			return conds
		}
	}
	c.LastTransitionTime = api.NewTime(now)
	return append(conds, c)
}
