// Package diskctl runs the VirtualDisk controller of an agent: it resolves
// each disk's storage class, binds the disk to a node, creates its qcow2
// file there (blank, or a full copy of a ClusterVirtualImage's or
// VirtualImage's blob), grows it, and deletes it.
//
// Division of work (DESIGN §3): the leader decides — it adds the finalizer
// davit.io/disks, resolves the storage class (reference §4 "SC
// resolution", ResolveStorageClass), checks the data source, binds the
// disk by writing status.volume.node (the node of the first VM that uses
// it for a WaitForFirstConsumer class, otherwise the leader's own node),
// computes attachedToVirtualMachines and InUse, starts a resize when the
// spec grows past the capacity, and releases deleted disks that were never
// bound. The node named in status.volume.node acts: it provisions the
// file, resizes it (through the Online hook when a running VM has it
// open), deletes it once the disk is deleted and no VM uses it, and then
// removes the finalizer. Both are level-triggered passes over the
// replicated state, safe to repeat and to run after a crash. Decisions are
// pure functions (resolve.go, plan*.go) of a snapshot of the state; effects
// are status writes with the resourceVersion precondition, retried on
// conflict, and file operations (provision.go).
//
// Where a disk lives is status.volume (api.DiskVolume): node, path and
// format. The file is <classdir>/<namespace>/vd-<uid>.qcow2, where classdir
// is the class's spec.path, or DATA/storage/<class> for a local class
// without one. A file appears under its final name only complete and
// synced: it is written under a temporary name in the same directory and
// renamed.
//
// Not handled (documented limits): a disk bound to a node that stays not
// Ready keeps waiting for that node (its file exists only there, for a
// local class); HTTP, ContainerImage and Upload data sources and
// VirtualDiskSnapshot references stay Pending with reason
// ProvisioningNotStarted; changing the storage class of a bound disk
// (volume migration) is ignored.
//
// Concurrency: Run owns every goroutine the package starts (one job per
// disk being provisioned, resized or deleted on this node) and waits for
// them before it returns.
//
// The package must not import davit/agent (nor davit/agent/imagectl): the
// agent passes itself in through the small Cluster interface and the image
// store through Blobs.
package diskctl
