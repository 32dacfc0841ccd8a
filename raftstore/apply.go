package raftstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"

	"davit/api"
)

// change is what one command does to one object.
type change struct {
	outcome Outcome
	// obj is the object after the command (for a removal: the last state,
	// stamped with the deleting index). It is stored as is: never modified.
	obj    *api.Object
	remove bool
	event  EventType // "" when nothing changed
}

func unchanged(cur *api.Object) change { return change{outcome: OutcomeUnchanged, obj: cur} }

func created(obj *api.Object) change {
	return change{outcome: OutcomeCreated, obj: obj, event: EventAdded}
}

func updated(obj *api.Object, outcome Outcome) change {
	return change{outcome: outcome, obj: obj, event: EventModified}
}

func removed(cur *api.Object, index uint64) change {
	gone := *cur
	gone.Metadata.Finalizers = nil
	gone.Metadata.SetRV(index)
	return change{outcome: OutcomeDeleted, obj: &gone, remove: true, event: EventDeleted}
}

// mutate computes the change cmd makes at index. It reads through txn and
// writes nothing; it never modifies a stored object (changes are made to a
// shallow copy whose changed maps and slices are new).
func mutate(txn *memdb.Txn, index uint64, cmd *Command, k *api.Kind) (change, error) {
	key := api.Key(cmd.Namespace, cmd.Name)
	what := fmt.Sprintf("%s %s %q", strings.ToLower(cmd.Type.String()), k.Plural, key)
	cur, err := lookup(txn, k.Plural, key)
	if err != nil {
		return change{}, err
	}
	switch {
	case cur != nil && cmd.Type == CmdCreate:
		return change{}, fmt.Errorf("%s: %w", what, ErrAlreadyExists)
	case cur == nil && cmd.Type == CmdPut && cmd.ResourceVersion != "":
		return change{}, fmt.Errorf("%s: resourceVersion %s given but the object does not exist: %w",
			what, cmd.ResourceVersion, ErrNotFound)
	case cur == nil && cmd.Type != CmdCreate && cmd.Type != CmdPut:
		return change{}, fmt.Errorf("%s: %w", what, ErrNotFound)
	case cur != nil && cmd.ResourceVersion != "" && cmd.ResourceVersion != cur.Metadata.ResourceVersion:
		return change{}, fmt.Errorf("%s: resourceVersion %s is stale, the object is at %s: %w",
			what, cmd.ResourceVersion, cur.Metadata.ResourceVersion, ErrConflict)
	}
	switch cmd.Type {
	case CmdCreate:
		return created(newObject(k, cmd, index, true)), nil
	case CmdPut:
		if cur == nil {
			return created(newObject(k, cmd, index, false)), nil
		}
		return put(cur, cmd, index), nil
	case CmdUpdateStatus:
		return updateStatus(cur, cmd, index), nil
	case CmdDelete:
		return deleteObject(cur, cmd, index), nil
	case CmdAddFinalizer:
		return addFinalizer(cur, cmd, index), nil
	case CmdRemoveFinalizer:
		return removeFinalizer(cur, cmd, index), nil
	}
	return change{}, fmt.Errorf("%s: %w", what, ErrUnknownCommand) // check() rules this out
}

// newObject builds a new object from a Create (full: with status and
// finalizers) or a Put (without).
func newObject(k *api.Kind, cmd *Command, index uint64, full bool) *api.Object {
	src := cmd.Object
	obj := &api.Object{
		TypeMeta: api.TypeMeta{APIVersion: k.APIVersion, Kind: k.Kind},
		Metadata: api.ObjectMeta{
			Name:              cmd.Name,
			Namespace:         cmd.Namespace,
			UID:               cmd.UID,
			Generation:        1,
			CreationTimestamp: api.NewTime(cmd.Time),
			Labels:            nonEmpty(src.Metadata.Labels),
			Annotations:       nonEmpty(src.Metadata.Annotations),
		},
		Spec: normJSON(src.Spec),
		Type: src.Type,
		Data: normJSON(src.Data),
	}
	if full {
		obj.Status = normJSON(src.Status)
		obj.Metadata.Finalizers = dedupe(src.Metadata.Finalizers)
	}
	obj.Metadata.SetRV(index)
	return obj
}

// put updates spec, type, data, labels and annotations. generation counts
// changes of spec, type and data, compared by meaning, not bytes.
func put(cur *api.Object, cmd *Command, index uint64) change {
	src := cmd.Object
	specChanged := !jsonEqual(cur.Spec, src.Spec) || cur.Type != src.Type || !jsonEqual(cur.Data, src.Data)
	metaChanged := !maps.Equal(cur.Metadata.Labels, src.Metadata.Labels) ||
		!maps.Equal(cur.Metadata.Annotations, src.Metadata.Annotations)
	if !specChanged && !metaChanged {
		return unchanged(cur)
	}
	next := *cur
	if specChanged {
		next.Spec, next.Type, next.Data = normJSON(src.Spec), src.Type, normJSON(src.Data)
		next.Metadata.Generation++
	}
	next.Metadata.Labels = nonEmpty(src.Metadata.Labels)
	next.Metadata.Annotations = nonEmpty(src.Metadata.Annotations)
	next.Metadata.SetRV(index)
	return updated(&next, OutcomeUpdated)
}

func updateStatus(cur *api.Object, cmd *Command, index uint64) change {
	if jsonEqual(cur.Status, cmd.Object.Status) {
		return unchanged(cur)
	}
	next := *cur
	next.Status = normJSON(cmd.Object.Status)
	next.Metadata.SetRV(index)
	return updated(&next, OutcomeUpdated)
}

// deleteObject removes an object without finalizers; with finalizers it
// marks it (once) with deletionTimestamp.
func deleteObject(cur *api.Object, cmd *Command, index uint64) change {
	if len(cur.Metadata.Finalizers) == 0 {
		return removed(cur, index)
	}
	if cur.Metadata.DeletionTimestamp != nil {
		return unchanged(cur)
	}
	next := *cur
	next.Metadata.DeletionTimestamp = api.NewTime(cmd.Time)
	next.Metadata.SetRV(index)
	return updated(&next, OutcomeDeletionStarted)
}

func addFinalizer(cur *api.Object, cmd *Command, index uint64) change {
	if slices.Contains(cur.Metadata.Finalizers, cmd.Finalizer) {
		return unchanged(cur)
	}
	next := *cur
	next.Metadata.Finalizers = slices.Concat(cur.Metadata.Finalizers, []string{cmd.Finalizer})
	next.Metadata.SetRV(index)
	return updated(&next, OutcomeUpdated)
}

func removeFinalizer(cur *api.Object, cmd *Command, index uint64) change {
	if !slices.Contains(cur.Metadata.Finalizers, cmd.Finalizer) {
		return unchanged(cur)
	}
	rest := slices.DeleteFunc(slices.Clone(cur.Metadata.Finalizers),
		func(f string) bool { return f == cmd.Finalizer })
	if len(rest) == 0 && cur.Metadata.DeletionTimestamp != nil {
		return removed(cur, index)
	}
	next := *cur
	next.Metadata.Finalizers = nonEmptySlice(rest)
	next.Metadata.SetRV(index)
	return updated(&next, OutcomeUpdated)
}

// normJSON returns a compact copy of raw, or nil for an absent or null value.
func normJSON(raw json.RawMessage) json.RawMessage {
	if isAbsent(raw) {
		return nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return slices.Clone(raw) // the command decoder accepted it, so this cannot happen
	}
	return b.Bytes()
}

func isAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// jsonEqual compares two JSON values by meaning: absent equals null, and
// neither whitespace nor the order of object keys matters.
func jsonEqual(a, b json.RawMessage) bool {
	if isAbsent(a) || isAbsent(b) {
		return isAbsent(a) == isAbsent(b)
	}
	if bytes.Equal(normJSON(a), normJSON(b)) {
		return true
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false // not JSON: only equal bytes are equal
	}
	return reflect.DeepEqual(va, vb)
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func nonEmptySlice(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// dedupe drops repeated finalizers, keeping the first of each.
func dedupe(fs []string) []string {
	var out []string
	for _, f := range fs {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}
