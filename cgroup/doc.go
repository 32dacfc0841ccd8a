// Package cgroup owns the node-side CPU and memory enforcement of VMs: one
// cgroup per VM under a davit parent, the CPU weight that makes coreFraction a
// guaranteed minimum, the CFS quota that caps a VM at its cores, the memory
// limit, the node's allocator of exclusive (dedicated) CPUs, the shared-pool
// cpuset that excludes them, vCPU thread pinning and usage statistics.
//
// It is built on github.com/containerd/cgroups/v3 and imports nothing of
// davit's (pinned by TestImportsNothingOfOurs): the qemu package and the agent
// call it, never the other way round.
//
// # Modes
//
// New picks the implementation at run time from cgroups.Mode(): the cgroup1
// package on Legacy and Hybrid hosts (the build machines are Hybrid: cpu and
// cpuacct are separate v1 mounts, cgroup2 at /sys/fs/cgroup/unified holds no
// controllers), the cgroup2 package on Unified hosts. Both sit behind Manager.
// Only v1 is exercised by the tests on the build machines; v2 is written to
// the kernel's cgroup-v2 documentation and skips with that reason here.
//
// # Layout
//
// v1, one directory per hierarchy (Parent defaults to "davit"):
//
//	cpu, cpuacct, memory, pids:  /davit/vm-<uid>              the VM's process
//	cpuset:                      /davit/shared                the shared pool: every CPU minus every dedicated one
//	                             /davit/shared/vm-<uid>       the VM's process (all threads of a shared VM,
//	                                                          the emulator threads of a dedicated VM)
//	                             /davit/vm-<uid>              dedicated VMs only: cpuset.cpus = the VM's CPUs
//	                             /davit/vm-<uid>/vcpu<N>      one vCPU thread, cpuset.cpus = DedicatedCPUs[N]
//
// v1 hierarchies are independent, so the shared pool is a real cpuset-only
// parent: the kernel refuses any group below /davit/shared a CPU its parent
// lacks, so no shared VM can be handed a dedicated CPU even by mistake.
//
// v2 has one hierarchy, where a cpuset-only parent would also be a level of
// the CPU-weight tree, so every VM is a direct child of the parent:
//
//	/davit.slice/vm-<uid>.scope            cpu.weight, cpu.max, memory.max; cpuset.cpus = pool (shared VM)
//	                                       or pool ∪ own CPUs (dedicated VM, a threaded-domain root)
//	/davit.slice/vm-<uid>.scope/emulator   dedicated only, threaded: the process, cpuset.cpus = pool
//	/davit.slice/vm-<uid>.scope/vcpu<N>    dedicated only, threaded: one vCPU thread
//
// and the pool is written into every shared scope and emulator group.
//
// # The CPU guarantee
//
// coreFraction is a guaranteed minimum. A VM's weight is proportional to its
// guaranteed CPU (cores × coreFraction, in milli-CPUs): v1 cpu.shares =
// milli × 1024 / 1000 (at least 2), v2 cpu.weight = milli / 10 rounded up
// (1..10000), so one guaranteed CPU weighs as much as one ordinary task or
// group (1024 on v1, 100 on v2). The v2 mapping is linear on purpose: the
// runc/crun shares→weight conversion (1 + (shares-2)×9999/262142) is affine
// and bends ratios (1024:256 becomes 39:10). The CFS quota caps the VM at its
// cores: cfs_quota_us / cpu.max = cores × 100000 per 100000 µs period. The
// davit parent itself weighs as many CPUs as it spans (len(Config.CPUs) ×
// 1024 or × 100), so a busy host task of default weight, competing at the top
// level, takes only 1/(N+1) of an N-CPU node from busy VMs, not half. The
// guarantees hold as long as their sum stays within the CPU the host leaves
// to VMs: that is the scheduler's admission control (allocatable CPU, with
// some reserved for the host), not this package's.
//
// Host processes outside davit's groups are not fenced off dedicated CPUs:
// that needs isolcpus or a host-wide cpuset and is left to the node setup.
//
// # Concurrency and restarts
//
// A Manager is safe for concurrent use. It keeps no state of its own beyond
// its configuration: every call derives paths from the VM uid and reads the
// kernel's files, so a new Manager after an agent restart sees (List, Load)
// and manages every group the previous one made. The Allocator persists its
// assignments to a JSON file for the same reason.
package cgroup
