// Package consoletest holds fakes for console tests that speak the real
// protocols: a serial console unix socket served like QEMU's
// `-chardev socket,server=on` (one client at a time, a banner, then the
// guest echoing what it is sent), and a static console.Cluster.
//
// It imports davit/agent/console and davit/qemu, and only tests import it.
package consoletest
