package classstatus

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"davit/api"
)

// Node label prefixes each agent publishes from its CPU facts.
const (
	ModelLabel   = "cpu-model.node.virtualization.deckhouse.io/"
	FeatureLabel = "cpu-feature.node.virtualization.deckhouse.io/"
)

// Compute returns the class's status given every node; now stamps the
// conditions that change. A Discovery
// class's enabled features are computed once: an existing
// status.cpuFeatures.enabled is kept, so node changes never alter the
// model its VMs run with.
func Compute(c *api.VirtualMachineClass, nodes []*api.Node, now time.Time) api.VirtualMachineClassStatus {
	st := api.VirtualMachineClassStatus{ObservedGeneration: c.Metadata.Generation, Conditions: c.Status.Conditions}
	cpu := c.Spec.CPU
	var candidates []*api.Node
	var enabled []string
	discovered := condition("Discovered", "False", "DiscoverySkip", "only Discovery classes discover features")
	switch cpu.Type {
	case api.CPUTypeHost, api.CPUTypeHostPassthrough:
		candidates = nodes
	case api.CPUTypeModel:
		candidates = filter(nodes, func(n *api.Node) bool { return n.Metadata.Labels[ModelLabel+cpu.Model] == "true" })
	case api.CPUTypeFeatures:
		enabled = append([]string(nil), cpu.Features...)
		candidates = filter(nodes, func(n *api.Node) bool { return hasAll(n, enabled) })
	case api.CPUTypeDiscovery:
		enabled, discovered = discover(c, nodes)
		candidates = filter(nodes, func(n *api.Node) bool { return hasAll(n, enabled) })
	}
	var sel *api.LabelSelector = c.Spec.NodeSelector
	available := filter(candidates, func(n *api.Node) bool { return sel.Matches(n.Metadata.Labels) })
	for _, n := range available {
		st.AvailableNodes = append(st.AvailableNodes, n.Metadata.Name)
	}
	sort.Strings(st.AvailableNodes)
	if cpu.Type == api.CPUTypeFeatures || cpu.Type == api.CPUTypeDiscovery {
		st.CPUFeatures = &api.ClassCPUFeatures{Enabled: enabled, NotEnabledCommon: notEnabledCommon(available, enabled)}
	}
	st.MaxAllocatableResources = maxAllocatable(available)
	ready := readiness(cpu, st.AvailableNodes, enabled)
	st.Phase = api.ClassPending
	if ready.Status == "True" {
		st.Phase = api.ClassReady
	}
	if c.Metadata.DeletionTimestamp != nil {
		st.Phase = api.ClassTerminating
	}
	st.Conditions = api.SetCondition(st.Conditions, ready, now)
	st.Conditions = api.SetCondition(st.Conditions, discovered, now)
	return st
}

func readiness(cpu api.ClassCPU, available, enabled []string) api.Condition {
	switch {
	case cpu.Type == api.CPUTypeDiscovery && len(enabled) == 0:
		return condition("Ready", "False", "NoCpuFeaturesEnabled", "no CPU feature is common to the nodes of discovery.nodeSelector")
	case len(available) == 0:
		return condition("Ready", "False", "NoSuitableNodesFound", noNodesMessage(cpu))
	}
	return condition("Ready", "True", "SuitableNodesFound", strings.Join(available, ", "))
}

func noNodesMessage(cpu api.ClassCPU) string {
	switch cpu.Type {
	case api.CPUTypeModel:
		return "no node can run CPU model " + cpu.Model + " (node label " + ModelLabel + cpu.Model + ") and match spec.nodeSelector"
	case api.CPUTypeFeatures:
		return "no node has every feature of spec.cpu.features and matches spec.nodeSelector"
	}
	return "no node matches spec.nodeSelector"
}

// discover computes a Discovery class's features: the intersection over
// the pool of nodes matching discovery.nodeSelector, reused once known.
func discover(c *api.VirtualMachineClass, nodes []*api.Node) ([]string, api.Condition) {
	if f := c.Status.CPUFeatures; f != nil && len(f.Enabled) > 0 {
		return f.Enabled, condition("Discovered", "True", "DiscoverySucceeded", "features computed once; kept")
	}
	var poolSel *api.LabelSelector
	if d := c.Spec.CPU.Discovery; d != nil {
		poolSel = d.NodeSelector
	}
	pool := filter(nodes, func(n *api.Node) bool { return poolSel.Matches(n.Metadata.Labels) })
	if len(pool) == 0 {
		return nil, condition("Discovered", "False", "DiscoveryFailed", "no node matches discovery.nodeSelector")
	}
	common := features(pool[0])
	for _, n := range pool[1:] {
		have := map[string]bool{}
		for _, f := range features(n) {
			have[f] = true
		}
		common = filterStrings(common, func(f string) bool { return have[f] })
	}
	if len(common) == 0 {
		return nil, condition("Discovered", "False", "DiscoveryFailed", "the pool's nodes publish no common CPU feature")
	}
	return common, condition("Discovered", "True", "DiscoverySucceeded", "features common to "+itoa(len(pool))+" nodes")
}

// features lists the CPU features a node publishes, sorted.
func features(n *api.Node) []string {
	var out []string
	for k, v := range n.Metadata.Labels {
		if v == "true" && strings.HasPrefix(k, FeatureLabel) {
			out = append(out, strings.TrimPrefix(k, FeatureLabel))
		}
	}
	sort.Strings(out)
	return out
}

func hasAll(n *api.Node, fs []string) bool {
	for _, f := range fs {
		if n.Metadata.Labels[FeatureLabel+f] != "true" {
			return false
		}
	}
	return true
}

// notEnabledCommon is the features every available node has that the
// class does not enable.
func notEnabledCommon(available []*api.Node, enabled []string) []string {
	if len(available) == 0 {
		return nil
	}
	on := map[string]bool{}
	for _, f := range enabled {
		on[f] = true
	}
	common := filterStrings(features(available[0]), func(f string) bool { return !on[f] })
	for _, n := range available[1:] {
		common = filterStrings(common, func(f string) bool { return n.Metadata.Labels[FeatureLabel+f] == "true" })
	}
	return common
}

// maxAllocatable is the per-resource maximum over the nodes, each taken
// independently.
func maxAllocatable(nodes []*api.Node) *api.ResourceAmounts {
	if len(nodes) == 0 {
		return nil
	}
	var best api.ResourceAmounts
	var bestCPU int64
	for _, n := range nodes {
		a := n.Status.Allocatable
		if cpu := cpuCount(a.CPU); cpu > bestCPU {
			bestCPU, best.CPU = cpu, a.CPU
		}
		if best.Memory.IsZero() || a.Memory.Cmp(best.Memory) > 0 {
			best.Memory = a.Memory
		}
	}
	return &best
}

func cpuCount(v api.IntOrString) int64 {
	if !v.IsString {
		return v.IntVal
	}
	var n int64
	for _, ch := range v.StrVal {
		if ch < '0' || ch > '9' {
			break
		}
		n = n*10 + int64(ch-'0')
	}
	return n
}

func condition(t, status, reason, msg string) api.Condition {
	return api.Condition{Type: t, Status: api.ConditionStatus(status), Reason: reason, Message: msg}
}

func filter(nodes []*api.Node, keep func(*api.Node) bool) []*api.Node {
	var out []*api.Node
	for _, n := range nodes {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

func filterStrings(s []string, keep func(string) bool) []string {
	var out []string
	for _, x := range s {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
