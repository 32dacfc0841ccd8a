// Package vmop decides what happens to VirtualMachineOperations (reference
// §7; issue 5 item 7): whether an operation applies to its VM
// (Applicable), which operations a new one may supersede and whether it may
// be created at all (Supersedes, Admit), the small state machine that moves
// an operation through its phases and tells the VM controller what to do
// (Next, Reconcile, Step), and which finished operations to delete (GC).
//
// It is pure: functions of the operation, its VM and the clock. The
// leader's VMOP controller reads the store, calls them and writes the
// results; the API's admission calls Admit. It must not import davit/agent
// or davit/raftstore (pinned by archtest).
//
// # Lifecycle
//
//	(new) ──► Pending ──► InProgress ──► Completed
//	             │             └───────► Failed
//	             ├──► Failed (VirtualMachineNotFound, NotApplicableFor…,
//	             │           NotReadyToBeExecuted, OperationFailed)
//	             └──► Superseded (by a newer operation; also from InProgress)
//	any phase ──► Terminating (deletionTimestamp set)
//
// The Completed condition carries the reason: Unknown while Pending,
// {Start,Stop,Restart}InProgress while InProgress, OperationCompleted
// (True), OperationFailed or one of the rejection reasons (False),
// Superseded (True). The SignalSent condition turns True when the operation
// goes InProgress; its transition time is when the operation began
// (Began).
//
// # What the VM controller does
//
// While an operation is InProgress, Step.Action says what the VM must be
// brought to, level-triggered (asking twice is harmless): ActionStart — run
// it; ActionStop / ActionForceStop — stop it (ACPI powerdown, grace
// period, quit, kill; or kill at once) and keep it stopped; ActionRestart /
// ActionForceRestart — make sure the running instance is one started for
// this operation (status.restartedBy names it: NeedsRestart), stopping the
// older one first.
//
// Only Start, Stop and Restart are executed in this version; Migrate,
// Evict, Restore and Clone operations fail with OperationFailed saying so,
// rather than waiting for ever.
package vmop
