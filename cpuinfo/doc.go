// Package cpuinfo owns a node's CPU facts and what follows from them: the
// host's vendor and features (from /proc/cpuinfo, named as QEMU names
// them), the QEMU named CPU models the node can run with its accelerator
// and the host model, both asked of a throwaway QEMU over QMP, the node
// labels published from those facts, and the QEMU -cpu argument a
// VirtualMachineClass resolves to.
//
// Pure parts and effects are apart, as in cilium/ebpf's spec and object:
// ParseCPUInfo, QEMUFeatures, Labels, MergeLabels, CPUArg and
// CommonFeatures are deterministic functions of their arguments; only
// ReadHost, Probe, LoadOrProbe, LoadFile and WriteFile touch the system.
// A node's facts are probed once at agent start and cached in a file
// reused until the QEMU binary, the kernel or the host's features change;
// a recorded facts file (LoadFile, the agent's --cpu-facts) replaces the
// probe, so one machine can simulate nodes with different CPUs. Recorded
// nodes live in testdata.
//
// Concurrency: every function is safe for concurrent use; Probe starts its
// own QEMU and kills it before returning.
//
// The package imports no davit package: class types are passed as their
// API strings ("Host", "Model", ...). The agent imports cpuinfo, never the
// other way round.
package cpuinfo
