// Package qemu owns one node's QEMU processes: the QEMU command line built
// from a fully resolved VM (Spec), the process's start, stop and re-attach,
// its QMP monitor (through github.com/digitalocean/go-qemu), its events and
// its serial console.
//
// Planning is pure, effects come after. Command and Plan turn a Spec and
// its Paths into an argv and a list of QMP commands without touching the
// system (golden tests in testdata/). Start then runs a named list of steps
// (prepare-dir, write-spec, firmware-vars, exec, pidfile, qmp-connect,
// placement, running), each logged by name with its duration; when one
// fails, every earlier step is undone in reverse order: QEMU is killed and
// the files it created are removed, except the stderr log, which says why.
//
// A VM's files live in DATA/vms/<uid>/: spec.json (the boot spec), the QMP
// and serial console sockets, the pidfile, qemu.log (QEMU's stdout and
// stderr) and, for EFI, the VM's own copy of the OVMF variable store.
// QEMU runs in its own session (setsid) and is not tied to the agent: it
// survives an agent restart, and Attach finds it again from that directory
// (pidfile, QMP socket) after checking that the PID is alive and really is
// that VM's QEMU. The guest never notices.
//
// Lifetimes. An Instance is a handle on one QEMU process. Its exit is
// noticed at once through a pidfd (it works for processes that are not our
// children, as after a re-attach) and reported by Done and Exit, together
// with the last SHUTDOWN event QMP reported and the tail of qemu.log. A VM
// ends only through Stop or Kill: no context passed to Start or Attach
// decides how long QEMU lives. Close detaches the handle (stops its
// watcher goroutines, closes QMP) and leaves QEMU running.
//
// Concurrency: Instance and Monitor methods are safe for concurrent use;
// QMP commands are serialised on the one connection QEMU allows. Every
// goroutine the package starts is stopped by the Close of the value that
// started it (AttachConsole's copiers end before it returns).
//
// Imports: the package must not import davit/agent or davit/api (the
// agent's VM controller converts its resources to a Spec). It may import
// davit/cgroup; until then the Placement interface is the seam through
// which the agent puts QEMU and its vCPU threads into cgroups.
package qemu
