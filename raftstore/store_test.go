package raftstore

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

func TestCreateTwiceFails(t *testing.T) {
	s := newSingle(t)
	res := apply(t, s, CreateCommand("vm", vm("a", `{"cpu":{"cores":1}}`)))
	assert.Equal(t, OutcomeCreated, res.Outcome)
	assert.Equal(t, res.Index, res.Object.Metadata.RV())
	assert.Equal(t, int64(1), res.Object.Metadata.Generation)
	assert.NotEmpty(t, res.Object.Metadata.UID)
	assert.NotNil(t, res.Object.Metadata.CreationTimestamp)
	assert.Equal(t, "VirtualMachine", res.Object.Kind)
	assert.Equal(t, "virtualization.deckhouse.io/v1alpha2", res.Object.APIVersion)

	_, err := s.Apply(ctxT(t), CreateCommand("vm", vm("a", `{}`)))
	require.ErrorIs(t, err, ErrAlreadyExists)
	got, err := s.Get("virtualmachines", "default", "a")
	require.NoError(t, err)
	assert.Equal(t, `{"cpu":{"cores":1}}`, string(got.Spec))
}

func TestPutCAS(t *testing.T) {
	s := newSingle(t)
	first := apply(t, s, PutCommand("vm", vm("a", `{"x":1}`)))
	assert.Equal(t, OutcomeCreated, first.Outcome)

	stale := vm("a", `{"x":2}`)
	stale.Metadata.ResourceVersion = "1" // the bootstrap configuration entry, never this object
	res, err := s.Apply(ctxT(t), PutCommand("vm", stale))
	require.ErrorIs(t, err, ErrConflict)
	require.NotNil(t, res)
	assert.ErrorIs(t, res.Err, ErrConflict)

	fresh := vm("a", `{"x":2}`)
	fresh.Metadata.ResourceVersion = first.Object.Metadata.ResourceVersion
	second := apply(t, s, PutCommand("vm", fresh))
	assert.Equal(t, OutcomeUpdated, second.Outcome)
	assert.Greater(t, second.Object.Metadata.RV(), first.Object.Metadata.RV())

	// The first resourceVersion is stale now.
	_, err = s.Apply(ctxT(t), PutCommand("vm", fresh))
	require.ErrorIs(t, err, ErrConflict)

	// A precondition on an object that does not exist.
	missing := vm("b", `{}`)
	missing.Metadata.ResourceVersion = "7"
	_, err = s.Apply(ctxT(t), PutCommand("vm", missing))
	require.ErrorIs(t, err, ErrNotFound)

	// Status and delete preconditions too.
	st := vm("a", "")
	st.Status = json.RawMessage(`{"phase":"Running"}`)
	st.Metadata.ResourceVersion = first.Object.Metadata.ResourceVersion
	_, err = s.Apply(ctxT(t), UpdateStatusCommand("vm", st))
	require.ErrorIs(t, err, ErrConflict)
	_, err = s.Apply(ctxT(t), DeleteCommand("vm", "default", "a", first.Object.Metadata.ResourceVersion))
	require.ErrorIs(t, err, ErrConflict)
	_, err = s.Get("vm", "default", "a")
	require.NoError(t, err)
}

func TestGenerationBumpsOnlyOnSpecChange(t *testing.T) {
	s := newSingle(t)
	created := apply(t, s, PutCommand("vm", vm("a", `{"cpu":{"cores":1,"coreFraction":"10%"},"runPolicy":"AlwaysOn"}`)))

	// The same spec, reordered and spaced differently: unchanged, same RV.
	same := apply(t, s, PutCommand("vm", vm("a", `{ "runPolicy": "AlwaysOn", "cpu": {"coreFraction":"10%", "cores": 1} }`)))
	assert.Equal(t, OutcomeUnchanged, same.Outcome)
	assert.Equal(t, created.Object.Metadata.ResourceVersion, same.Object.Metadata.ResourceVersion)
	assert.Equal(t, int64(1), same.Object.Metadata.Generation)

	// Labels and annotations: a new RV, the same generation.
	labelled := vm("a", `{"runPolicy":"AlwaysOn","cpu":{"cores":1,"coreFraction":"10%"}}`)
	labelled.Metadata.Labels = map[string]string{"app": "web"}
	labelled.Metadata.Annotations = map[string]string{"note": "x"}
	res := apply(t, s, PutCommand("vm", labelled))
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	assert.Equal(t, int64(1), res.Object.Metadata.Generation)
	assert.Greater(t, res.Object.Metadata.RV(), created.Object.Metadata.RV())
	assert.Equal(t, map[string]string{"app": "web"}, res.Object.Metadata.Labels)

	// Applying it again changes nothing.
	again := apply(t, s, PutCommand("vm", labelled))
	assert.Equal(t, OutcomeUnchanged, again.Outcome)
	assert.Equal(t, res.Object.Metadata.ResourceVersion, again.Object.Metadata.ResourceVersion)

	// A spec change bumps the generation once.
	changed := vm("a", `{"runPolicy":"AlwaysOn","cpu":{"cores":2,"coreFraction":"10%"}}`)
	changed.Metadata.Labels = labelled.Metadata.Labels
	changed.Metadata.Annotations = labelled.Metadata.Annotations
	res = apply(t, s, PutCommand("vm", changed))
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	assert.Equal(t, int64(2), res.Object.Metadata.Generation)

	// Secrets: type and data count as spec.
	sec := obj("default", "s", "")
	sec.Type = "Opaque"
	sec.Data = json.RawMessage(`{"k":"dg=="}`)
	assert.Equal(t, int64(1), apply(t, s, PutCommand("secret", sec)).Object.Metadata.Generation)
	sec.Data = json.RawMessage(`{"k":"dw=="}`)
	assert.Equal(t, int64(2), apply(t, s, PutCommand("secret", sec)).Object.Metadata.Generation)
	sec.Type = "kubernetes.io/tls"
	assert.Equal(t, int64(3), apply(t, s, PutCommand("secret", sec)).Object.Metadata.Generation)
	assert.Equal(t, OutcomeUnchanged, apply(t, s, PutCommand("secret", sec)).Outcome)
}

func TestPutKeepsStoreOwnedFields(t *testing.T) {
	s := newSingle(t)
	in := vm("a", `{"x":1}`)
	in.Status = json.RawMessage(`{"phase":"Pending"}`)
	in.Metadata.Finalizers = []string{"davit.io/disk", "davit.io/disk", "davit.io/net"}
	created := apply(t, s, CreateCommand("vm", in)).Object
	assert.Equal(t, []string{"davit.io/disk", "davit.io/net"}, created.Metadata.Finalizers)
	assert.JSONEq(t, `{"phase":"Pending"}`, string(created.Status))

	// A Put carrying other uid, timestamps, status and finalizers changes
	// only the spec.
	up := vm("a", `{"x":2}`)
	up.Metadata.UID = "forged"
	up.Metadata.Generation = 42
	up.Metadata.Finalizers = nil
	up.Status = json.RawMessage(`{"phase":"Running"}`)
	res := apply(t, s, PutCommand("vm", up))
	got := res.Object
	assert.Equal(t, created.Metadata.UID, got.Metadata.UID)
	assert.Equal(t, created.Metadata.CreationTimestamp, got.Metadata.CreationTimestamp)
	assert.Equal(t, created.Metadata.Finalizers, got.Metadata.Finalizers)
	assert.JSONEq(t, `{"phase":"Pending"}`, string(got.Status))
	assert.Equal(t, int64(2), got.Metadata.Generation)
	assert.JSONEq(t, `{"x":2}`, string(got.Spec))

	// A Put that creates takes neither status nor finalizers.
	fresh := vm("b", `{}`)
	fresh.Status = json.RawMessage(`{"phase":"Running"}`)
	fresh.Metadata.Finalizers = []string{"f"}
	b := apply(t, s, PutCommand("vm", fresh)).Object
	assert.Empty(t, b.Status)
	assert.Empty(t, b.Metadata.Finalizers)
}

func TestUpdateStatus(t *testing.T) {
	s := newSingle(t)
	created := apply(t, s, PutCommand("vm", vm("a", `{"x":1}`))).Object

	st := vm("a", `{"x":"ignored"}`)
	st.Status = json.RawMessage(`{"phase":"Running","nodeName":"n1"}`)
	res := apply(t, s, UpdateStatusCommand("vm", st))
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	assert.JSONEq(t, `{"x":1}`, string(res.Object.Spec))
	assert.Equal(t, int64(1), res.Object.Metadata.Generation)
	assert.Greater(t, res.Object.Metadata.RV(), created.Metadata.RV())

	st.Status = json.RawMessage(`{"nodeName":"n1", "phase":"Running"}`)
	same := apply(t, s, UpdateStatusCommand("vm", st))
	assert.Equal(t, OutcomeUnchanged, same.Outcome)
	assert.Equal(t, res.Object.Metadata.ResourceVersion, same.Object.Metadata.ResourceVersion)

	_, err := s.Apply(ctxT(t), UpdateStatusCommand("vm", vm("nope", "")))
	require.ErrorIs(t, err, ErrNotFound)
}

func TestFinalizersAndDeletion(t *testing.T) {
	s := newSingle(t)
	apply(t, s, PutCommand("vm", vm("a", `{}`)))
	res := apply(t, s, AddFinalizerCommand("vm", "default", "a", "davit.io/disks"))
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	assert.Equal(t, OutcomeUnchanged, apply(t, s, AddFinalizerCommand("vm", "default", "a", "davit.io/disks")).Outcome)
	apply(t, s, AddFinalizerCommand("vm", "default", "a", "davit.io/net"))

	del := apply(t, s, DeleteCommand("vm", "default", "a", ""))
	assert.Equal(t, OutcomeDeletionStarted, del.Outcome)
	require.NotNil(t, del.Object.Metadata.DeletionTimestamp)
	ts := *del.Object.Metadata.DeletionTimestamp

	// A second delete keeps the first timestamp and changes nothing.
	again := apply(t, s, DeleteCommand("vm", "default", "a", ""))
	assert.Equal(t, OutcomeUnchanged, again.Outcome)
	assert.Equal(t, ts, *again.Object.Metadata.DeletionTimestamp)
	assert.Equal(t, del.Object.Metadata.ResourceVersion, again.Object.Metadata.ResourceVersion)

	// Status updates and a Put still apply to an object being deleted.
	st := vm("a", "")
	st.Status = json.RawMessage(`{"phase":"Terminating"}`)
	assert.Equal(t, OutcomeUpdated, apply(t, s, UpdateStatusCommand("vm", st)).Outcome)
	put := apply(t, s, PutCommand("vm", vm("a", `{"late":true}`)))
	assert.Equal(t, OutcomeUpdated, put.Outcome)
	assert.Equal(t, ts, *put.Object.Metadata.DeletionTimestamp)

	assert.Equal(t, OutcomeUpdated, apply(t, s, RemoveFinalizerCommand("vm", "default", "a", "davit.io/disks")).Outcome)
	assert.Equal(t, OutcomeUnchanged, apply(t, s, RemoveFinalizerCommand("vm", "default", "a", "absent")).Outcome)
	_, err := s.Get("vm", "default", "a")
	require.NoError(t, err)

	last := apply(t, s, RemoveFinalizerCommand("vm", "default", "a", "davit.io/net"))
	assert.Equal(t, OutcomeDeleted, last.Outcome)
	assert.Equal(t, last.Index, last.Object.Metadata.RV())
	_, err = s.Get("vm", "default", "a")
	require.ErrorIs(t, err, ErrNotFound)

	// Without finalizers, deletion is immediate; a second one is NotFound.
	apply(t, s, PutCommand("vm", vm("b", `{}`)))
	assert.Equal(t, OutcomeDeleted, apply(t, s, DeleteCommand("vm", "default", "b", "")).Outcome)
	_, err = s.Apply(ctxT(t), DeleteCommand("vm", "default", "b", ""))
	require.ErrorIs(t, err, ErrNotFound)

	// Removing the last finalizer of an object not being deleted keeps it.
	apply(t, s, PutCommand("vm", vm("c", `{}`)))
	apply(t, s, AddFinalizerCommand("vm", "default", "c", "f"))
	res = apply(t, s, RemoveFinalizerCommand("vm", "default", "c", "f"))
	assert.Equal(t, OutcomeUpdated, res.Outcome)
	assert.Empty(t, res.Object.Metadata.Finalizers)
}

func TestUnknownCommands(t *testing.T) {
	s := newSingle(t)
	before := s.AppliedIndex()

	res, err := s.ApplyRaw(ctxT(t), append([]byte{byte(Ignorable | 0x7e)}, `{"future":true}`...))
	require.NoError(t, err)
	assert.Equal(t, OutcomeIgnored, res.Outcome)
	assert.Greater(t, res.Index, before)
	first := res.Index

	res, err = s.ApplyRaw(ctxT(t), append([]byte{0x7e}, `{"future":true}`...))
	require.ErrorIs(t, err, ErrUnknownCommand)
	require.NotNil(t, res)
	assert.ErrorIs(t, res.Err, ErrUnknownCommand)

	// Malformed bodies of known types are refused before they reach the log.
	_, err = s.ApplyRaw(ctxT(t), append([]byte{byte(CmdPut)}, `{not json`...))
	require.ErrorIs(t, err, ErrInvalidCommand)
	_, err = s.ApplyRaw(ctxT(t), append([]byte{byte(CmdPut)}, `{"kind":"nonsense","name":"a","uid":"u","time":"2024-01-01T00:00:00Z","object":{"metadata":{"name":"a"}}}`...))
	require.ErrorIs(t, err, ErrUnknownKind)
	// A namespace on a cluster-scoped kind.
	_, err = s.Apply(ctxT(t), PutCommand("node", obj("ns", "n1", `{}`)))
	require.ErrorIs(t, err, ErrInvalidCommand)

	// The state still works and its index followed every entry.
	last := apply(t, s, PutCommand("node", obj("", "n1", `{}`)))
	assert.Equal(t, last.Index, s.AppliedIndex())
	assert.Equal(t, first+2, last.Index, "one index per entry, failed or not; none for refused ones")
}

func TestEncodeCommandChecks(t *testing.T) {
	_, err := EncodeCommand(PutCommand("nonsense", vm("a", "")))
	require.ErrorIs(t, err, ErrUnknownKind)
	_, err = EncodeCommand(PutCommand("vm", vm("", "")))
	require.ErrorIs(t, err, ErrInvalidCommand)
	_, err = EncodeCommand(Command{Type: 0x7e, Kind: "vm", Name: "a"})
	require.ErrorIs(t, err, ErrUnknownCommand)
	_, err = EncodeCommand(AddFinalizerCommand("vm", "default", "a", ""))
	require.ErrorIs(t, err, ErrInvalidCommand)

	// The encoder fills uid and time; the caller's command is untouched.
	cmd := CreateCommand("VirtualMachine", vm("a", `{}`))
	b, err := EncodeCommand(cmd)
	require.NoError(t, err)
	assert.Empty(t, cmd.UID)
	assert.Equal(t, byte(CmdCreate), b[0])
	back, err := DecodeCommand(b)
	require.NoError(t, err)
	assert.Equal(t, "virtualmachines", back.Kind)
	assert.Len(t, back.UID, 36)
	assert.False(t, back.Time.IsZero())
	assert.Equal(t, CmdCreate, back.Type)
}

func newTestFSM(t *testing.T) *fsm {
	st, err := newState()
	require.NoError(t, err)
	return &fsm{log: testLogger(t), state: st, hub: newHub(100)}
}

// Entries that reach the log malformed (another version, a bug) fail in the
// FSM with an error result, advance the index and change nothing; and the
// same entries give every FSM the same state.
func TestFSMIsDeterministicAndRejectsMalformed(t *testing.T) {
	put, err := EncodeCommand(PutCommand("vm", vm("a", `{"n":1}`)))
	require.NoError(t, err)
	fin, err := EncodeCommand(AddFinalizerCommand("vm", "default", "a", "f"))
	require.NoError(t, err)
	del, err := EncodeCommand(DeleteCommand("vm", "default", "a", ""))
	require.NoError(t, err)
	entries := [][]byte{
		put,
		append([]byte{byte(CmdPut)}, `{not json`...),
		append([]byte{byte(CmdDelete)}, `{"kind":"gadgets","name":"a","time":"2024-01-01T00:00:00Z"}`...),
		append([]byte{byte(CmdPut)}, `{"kind":"virtualmachines","name":"a","time":"2024-01-01T00:00:00Z"}`...), // no uid, no object
		{},
		fin, del,
	}
	wantErr := []error{nil, ErrInvalidCommand, ErrUnknownKind, ErrInvalidCommand, ErrUnknownCommand, nil, nil}

	var states [][]*api.Object
	for range 2 {
		f := newTestFSM(t)
		for i, e := range entries {
			res, ok := f.applyEntry(uint64(10+i), e).(*Result)
			require.True(t, ok)
			if wantErr[i] != nil {
				assert.ErrorIs(t, res.Err, wantErr[i], "entry %d", i)
			} else {
				assert.NoError(t, res.Err, "entry %d", i)
			}
			assert.Equal(t, uint64(10+i), f.state.index())
		}
		objs, _, err := f.state.List("vm", "", nil)
		require.NoError(t, err)
		states = append(states, objs)
	}
	require.Len(t, states[0], 1)
	assert.NotNil(t, states[0][0].Metadata.DeletionTimestamp)
	assert.Equal(t, states[0], states[1])
}
