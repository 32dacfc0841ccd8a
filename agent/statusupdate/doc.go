// Package statusupdate writes the status of stored objects the way every
// controller of the agent does (DESIGN §3: controllers write status through
// a status-only command): only when it changed, with the resourceVersion
// the decision was made on as the precondition, and, when another write got
// there first, again on the newer object once the local state has it.
//
// It must not import davit/agent; the controllers pass their cluster view.
package statusupdate
