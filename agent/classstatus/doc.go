// Package classstatus computes a VirtualMachineClass's status from the
// nodes of the cluster (reference §5): the nodes that can run it
// (availableNodes), the CPU features a Features or Discovery class enables,
// the largest allocatable resources among those nodes, its phase and its
// Ready and Discovered conditions. It is pure: the leader's controller
// reads the store, calls Compute and writes the result.
package classstatus
