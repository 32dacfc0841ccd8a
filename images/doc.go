// Package images owns how a disk image gets onto a node: its sources (an
// HTTP(S) URL, an OCI image in a container registry, an upload body, a
// peer agent), content-based format and compression detection, capped
// streaming decompression, checksums, inspection, checking and conversion
// with qemu-img, and the node-local content-addressed store (davit's DVCR)
// with peer transfer between nodes.
//
// The package is a library for the agent's controllers: it knows nothing
// of resources, phases or Raft. A controller opens a source (OpenHTTP,
// OpenRegistry, an upload's request body), passes the reader to Import,
// and maps the returned error to a condition with errors.Is on the
// sentinels in errors.go (ErrChecksumMismatch is terminal, for example).
// Other nodes copy a stored image with FetchFromPeer from a node that
// serves it with ServeBlob.
//
// Disk images are stored as qcow2 (converted with `qemu-img convert`),
// ISO 9660 images as they are. qemu-img is an external dependency
// (Debian qemu-utils), never reimplemented; every call names the source
// format explicitly so that qemu-img does not probe untrusted files, and
// images that reference other files (backing files, external data files,
// vmdk descriptors) are refused.
//
// Concurrency: FSStore is safe for concurrent use; functions that take a
// context stop when it is cancelled and leave no temporary files behind.
// The package starts no goroutines of its own beyond a download's stall
// timer (layers are flattened synchronously, zstd decodes without
// workers); Download and RegistryDisk release their connections on Close.
// Progress callbacks run on the caller's goroutine.
//
// The package must not import davit/agent (nor anything that imports it);
// it does not import davit/api either: controllers convert api types to
// the small config structs here.
package images
