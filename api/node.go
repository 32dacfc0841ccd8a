package api

import "fmt"

// Node is one agent's machine (davit/v1). The agent writes its status;
// users may cordon it (spec.unschedulable) and taint it.
type Node struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     NodeSpec   `json:"spec,omitzero"`
	Status   NodeStatus `json:"status,omitzero"`
}

// NodeSpec is the desired state of a node.
type NodeSpec struct {
	Unschedulable bool    `json:"unschedulable,omitempty"`
	Taints        []Taint `json:"taints,omitempty"`
}

// NodeStatus is what the node's agent reports.
type NodeStatus struct {
	Capacity    ResourceAmounts `json:"capacity,omitzero"`
	Allocatable ResourceAmounts `json:"allocatable,omitzero"`
	Addresses   []NodeAddress   `json:"addresses,omitempty"`
	NodeInfo    NodeInfo        `json:"nodeInfo,omitzero"`
	Conditions  []Condition     `json:"conditions,omitempty"`
}

// NodeAddress is one address of the node ("InternalIP", "Hostname").
type NodeAddress struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// NodeInfo describes the node's software and accelerator.
type NodeInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	Accelerator   string `json:"accelerator,omitempty"`
	KernelVersion string `json:"kernelVersion,omitempty"`
	QEMUVersion   string `json:"qemuVersion,omitempty"`
	RaftAddress   string `json:"raftAddress,omitempty"`
}

// GetTypeMeta implements Resource.
func (r *Node) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *Node) GetObjectMeta() *ObjectMeta { return &r.Metadata }

// Default implements Defaulter; a node has no defaults.
func (r *Node) Default() {}

// Validate implements Validator.
func (r *Node) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{})
	for i, t := range r.Spec.Taints {
		p := fmt.Sprintf("spec.taints[%d]", i)
		if msg := qualifiedNameError(t.Key); msg != "" {
			errs.Add(ErrInvalid, p+".key", "key "+msg, t.Key)
		}
		if msg := labelValueError(t.Value); msg != "" {
			errs.Add(ErrInvalid, p+".value", msg, t.Value)
		}
		requireEnum(&errs, p+".effect", t.Effect, TaintNoSchedule, TaintPreferNoSchedule, TaintNoExecute)
	}
	return errs
}

// ValidateUpdate implements Validator; every field of a node may change.
func (r *Node) ValidateUpdate(old Resource) FieldErrors {
	if _, ok := old.(*Node); !ok {
		return wrongKind("Node", old)
	}
	return nil
}
