package vmop

import (
	"sort"
	"time"

	"davit/api"
)

// Garbage collection limits (reference §7).
const (
	// GCMaxAge: finished operations created longer ago are deleted.
	GCMaxAge = 24 * time.Hour
	// GCKeepPerVM: at most this many finished operations are kept per VM,
	// the newest.
	GCKeepPerVM = 10
)

// GC returns the store keys (api.Key(namespace, name)) of the operations to
// delete at now, sorted: every finished operation (Completed, Failed,
// Superseded) created more than GCMaxAge ago, and every finished operation
// beyond the GCKeepPerVM newest of its VM. Unfinished operations and ones
// already being deleted are never returned and do not count towards the
// ten. An operation without a creation time has no age: it is never too old
// and counts as the newest.
func GC(ops []*api.VirtualMachineOperation, now time.Time) []string {
	byVM := map[string][]*api.VirtualMachineOperation{}
	for _, op := range ops {
		if op == nil || !Finished(op) || op.Metadata.DeletionTimestamp != nil {
			continue
		}
		vm := api.Key(op.Metadata.Namespace, op.Spec.VirtualMachineName)
		byVM[vm] = append(byVM[vm], op)
	}
	var out []string
	for _, list := range byVM {
		sort.SliceStable(list, func(i, j int) bool { return Older(list[j], list[i]) }) // newest first
		for i, op := range list {
			ts := op.Metadata.CreationTimestamp
			if i >= GCKeepPerVM || (ts != nil && now.Sub(ts.Time) > GCMaxAge) {
				out = append(out, api.Key(op.Metadata.Namespace, op.Metadata.Name))
			}
		}
	}
	sort.Strings(out)
	return out
}
