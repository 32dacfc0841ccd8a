// Package vmctl runs VirtualMachines: the leader's placement of each VM on a
// node (the scheduler's pure decision written to status.nodeName), and on
// every node the QEMU processes of the VMs placed there — started from a
// resolved boot spec kept in the VM's status, put in their cgroups, stopped
// gracefully, watched for exit and re-attached after an agent restart.
//
// # Division of work
//
// The leader decides where (DESIGN §3): a VM that should run and has no
// node gets one from scheduler.State, or stays Pending with a condition
// naming what is missing or which filters rejected how many nodes. It also
// adds the finalizer and lets a deleted VM that runs nowhere go.
//
// A node acts on the VMs whose status.nodeName names it, and owns their
// status while they are there: phases Starting, Running, Stopping and
// Stopped, the boot spec, stats and the Running condition. When a VM should
// no longer run (a Stop operation, runPolicy AlwaysOff, a guest poweroff under
// Manual or AlwaysOnUnlessStoppedManually, deletion) the node stops QEMU and
// writes Stopped with status.nodeName cleared in one write, which hands the
// VM back to the leader and frees its place.
//
// What a VM should be is a pure function (Desired) of the VM, its
// operations and its runPolicy; the persisted half of it is
// status.powerState (api.PowerOn/PowerOff). Both passes are level-triggered
// and safe to repeat and to run after a crash.
//
// # QEMU outlives the agent
//
// QEMU runs detached (package qemu). On start the controller re-attaches to
// every QEMU found under DATA/vms: a VM still placed here is adopted without
// the guest noticing; a QEMU whose VM is gone or placed elsewhere is stopped
// and its files and cgroup removed.
//
// Concurrency: Run owns every goroutine (the two passes, one start or stop
// job per VM at a time, one exit watcher per instance) and waits for them.
// Instances are closed (detached, QEMU left running) when Run returns.
//
// The package must not import davit/agent: the agent passes itself in
// through the Cluster interface.
package vmctl
