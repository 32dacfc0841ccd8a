// Package console serves a VM's serial console over HTTP:
// GET /v1/namespaces/{ns}/virtualmachines/{name}/console with
// "Connection: Upgrade" and "Upgrade: davit-console". The server answers
// 101 Switching Protocols and then carries raw bytes both ways.
//
// On the node that runs the VM (status.nodeName) the handler attaches to
// QEMU's console socket (qemu.AttachConsole on
// qemu.PathsFor(dataDir, uid).ConsoleSocket()). On any other node it
// proxies: it sends the same upgrade to the owning node's agent with the
// Forwarded header set, and splices the two connections. A forwarded
// request that does not find the VM on its own node answers 409 instead of
// forwarding again, so two agents with stale views cannot loop.
//
// Errors before the upgrade are httpapi.Status JSON bodies: 404 when the
// VM does not exist, 409 when it is not running (or not here on a
// forwarded request), 502 when the owning node cannot be reached. Nothing
// a client sends makes it panic or answer 500.
//
// Lifetimes: each session runs in the HTTP server's handler goroutine and
// owns its copiers; Handler.Close ends every session and waits for them
// (the agent registers it with http.Server.RegisterOnShutdown, because
// Shutdown does not track hijacked connections).
//
// Imports: the package must not import davit/agent; the agent hands it a
// Cluster. It may import davit/api, davit/qemu and davit/agent/httpapi.
package console
