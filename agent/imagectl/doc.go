// Package imagectl runs the image controllers of an agent: it turns
// ClusterVirtualImages and VirtualImages (storage ContainerRegistry) into
// blobs in the node-local content store (davit's DVCR), keeps the
// configured number of replicas of each on other nodes, serves blobs to
// peers, receives uploads, and handles deletion.
//
// Division of work (DESIGN §3): the leader decides — it starts each import
// by naming an importer node (itself) or issuing upload URLs, fails
// uploads that never started, picks replica holders, drops holders whose
// node is lost, computes usedInNamespaces and InUse, and removes the
// finalizer of a deleted image nobody uses. Every node acts on its own
// assignments — it runs the imports assigned to it, fetches the replicas
// assigned to it from a holder, announces the blobs it holds, drops the
// ones it lost, and deletes blobs no image references. Both are
// level-triggered passes over the replicated state, safe to repeat and to
// run after a crash. Decisions are pure functions (plan*.go) of the state;
// effects are status writes with the resourceVersion precondition,
// retried on conflict.
//
// Where a blob lives is recorded in the image's status.blob (digest,
// importer, holders, fetching, upload deadline), next to the reference's
// fields. target.registryURL is "davit://blobs/sha256:<hex>": it names the
// content, not a node, so it stays true while holders change, and every
// agent resolves it at GET /v1/blobs/sha256:<hex> (served from its own
// store or redirected to a holder).
//
// Concurrency: Run owns every goroutine the package starts (import and
// fetch jobs) and waits for them before it returns. The HTTP handlers may
// run before Run starts and after it ends; an upload then gets 503.
//
// The package must not import davit/agent: the agent passes itself in
// through the small Cluster interface.
package imagectl
