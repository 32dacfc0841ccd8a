// Package scheduler places VirtualMachines on nodes (issue 5 item 6,
// issue 6's admission control). It is pure: it reads a Snapshot of the
// cluster (nodes, the VMs placed or running, classes, disks, where image
// blobs are) and returns a Decision; the leader's controller builds the
// snapshot from the store and writes status.nodeName. Nothing here does
// I/O, and the package must not import davit/agent or davit/raftstore
// (pinned by archtest).
//
// # Filters
//
// A node is rejected by the first filter it fails, in this order, so a VM
// that fits nowhere gets a condition such as
//
//	0/5 nodes are available: 2 NotReady, 1 Unschedulable, 2 InsufficientCPU.
//
// The filters:
//
//   - NotReady: the node's Ready condition is not True.
//   - Unschedulable: the node is cordoned (spec.unschedulable).
//   - UntoleratedTaint: a NoSchedule or NoExecute taint the VM does not
//     tolerate. The VM's tolerations are its class's merged with its own,
//     the VM's entry winning where both have one for the same key and
//     effect (reference §5). PreferNoSchedule taints only lower the score.
//   - NodeSelectorMismatch: the class's spec.nodeSelector (a label
//     selector) or the VM's spec.nodeSelector (a map) does not match.
//   - ClassCPUUnavailable: the node is not in the class's
//     status.availableNodes (the class status controller computes it from
//     the CPU model, features or discovery). Before that controller has
//     written a status, Host and HostPassthrough classes run anywhere and
//     the other types nowhere.
//   - DiskOnOtherNode: a disk of the VM is bound to another node (a local,
//     ReadWriteOnce volume that already exists there).
//   - InsufficientDedicatedCores: a VM with spec.cpu.dedicatedCores needs as
//     many host CPUs not yet dedicated to other VMs as it has cores; a node
//     can dedicate floor(allocatable CPU) − 1 of them, because the cgroup
//     Allocator always leaves one CPU to the shared pool.
//   - InsufficientCPU: the guaranteed CPU of the VMs on the node, plus this
//     one's, would exceed its allocatable CPU. A VM's guaranteed CPU is
//     cores × coreFraction in milli-CPUs (2 cores at 20% = 400m); a VM with
//     dedicated cores counts its cores whole. Integer arithmetic only.
//   - InsufficientMemory: memory plus MemoryOverhead, summed, would exceed
//     the node's allocatable memory.
//
// Two conditions reject the VM as a whole rather than node by node: an
// unknown class (ErrClassNotFound) or disk (ErrDiskNotFound), and a
// ReadWriteOnce disk that another placed or running VM holds (ErrDiskInUse,
// naming the disk, the VM and its node). The latter is stricter than
// Kubernetes' per-node RWO: two QEMU processes must never open one qcow2
// file read-write, even on the same node.
//
// # Scores
//
// Among the nodes left, the highest score wins and ties go to the node
// whose name sorts first, so placement is deterministic. The score is
// least-allocated (spread): the mean of the CPU and memory fractions that
// stay free after placing the VM, 0..100, plus ImageBonus × the fraction of
// the VM's images whose blobs the node already holds, minus
// PreferNoSchedulePenalty for an untolerated PreferNoSchedule taint.
//
// # Accounting
//
// A VM counts against a node while status.nodeName names it and its phase
// is not Stopped (a VM the scheduler placed but whose node has not started
// it yet is Pending with a nodeName and counts). A Migrating VM counts on its
// migration target too. A VM's demand is the larger of what its spec asks
// and what its status.resources say it runs with, so a change waiting for a
// restart never lets a node be over-committed.
//
// State holds the per-node usage computed once from a snapshot and updated
// by Assign, so placing many VMs one after another costs one pass over the
// nodes per VM, not a rescan of every VM (BenchmarkPlace10kVMs1kNodes,
// PlacementRate).
package scheduler
