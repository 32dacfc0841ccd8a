// Package vmopctl runs the VirtualMachineOperation controller: while its
// agent leads the cluster it moves every operation through its phases
// (reference §7) and collects finished ones.
//
// The rules are package vmop's; this package only reads the store, calls
// them and writes what they decide. Each pass (every Config.Resync) it
// lists the operations and VMs, and for each unfinished operation, oldest
// first, computes vmop.Reconcile against the other operations of its
// namespace; it first marks every operation the step supersedes with
// vmop.SupersededBy, then writes the step itself. Writes are status-only
// (raftstore.UpdateStatusCommand) with the resourceVersion precondition
// and only when Step.Apply reports a change; a conflict or a failed write
// is left to the next pass, which decides again from fresh state. Every
// Config.GCInterval it deletes the operations vmop.GC names.
//
// Division of work: this controller only moves phases. The VM controller
// calls vmop.Next itself for InProgress operations to learn what to do to
// the VM; this package never writes VMs. Operations carry no finalizer of
// ours, so deletion needs nothing from us.
//
// Concurrency: Run does all the work on the goroutine that calls it and
// starts none.
//
// The package must not import davit/agent (pinned by archtest): the
// agent passes itself in through the small Cluster interface.
package vmopctl
