package api

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
