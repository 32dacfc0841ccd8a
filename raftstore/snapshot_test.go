package raftstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

// writeMany puts n objects (with a status and a finalizer on some) and
// returns the listed state.
func writeMany(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s%d", prefix, i)
		apply(t, s, PutCommand("vm", vm(name, fmt.Sprintf(`{"n":%d}`, i))))
		if i%3 == 0 {
			st := vm(name, "")
			st.Status = json.RawMessage(`{"phase":"Running","nodeName":"n1"}`)
			apply(t, s, UpdateStatusCommand("vm", st))
			apply(t, s, AddFinalizerCommand("vm", "default", name, "davit.io/f"))
		}
	}
}

func snapshotOf(t *testing.T, s *Store) []*api.Object {
	t.Helper()
	require.NoError(t, s.ConsistentRead(ctxT(t)))
	var all []*api.Object
	for _, k := range api.Kinds() {
		objs, _ := s.List(k.Plural, "", nil)
		all = append(all, objs...)
	}
	return all
}

// reopen closes s and opens a store on the same directory and address.
func reopen(t *testing.T, s *Store) *Store {
	t.Helper()
	cfg := s.cfg
	require.NoError(t, s.Close())
	s2 := openStore(t, cfg)
	waitLeader(t, s2)
	return s2
}

func TestRestartReplaysTheLog(t *testing.T) {
	s := newSingle(t)
	writeMany(t, s, "vm", 20)
	apply(t, s, DeleteCommand("vm", "default", "vm3", "")) // has a finalizer: stays, terminating
	apply(t, s, DeleteCommand("vm", "default", "vm4", ""))
	before := snapshotOf(t, s)
	require.Len(t, before, 19)

	s = reopen(t, s)
	after := snapshotOf(t, s)
	assert.Equal(t, before, after, "same objects, uids, timestamps and resourceVersions")
	got, err := s.Get("vm", "default", "vm3")
	require.NoError(t, err)
	assert.NotNil(t, got.Metadata.DeletionTimestamp)

	// And it goes on from there.
	res := apply(t, s, PutCommand("vm", vm("vm0", `{"n":"new"}`)))
	assert.Equal(t, before[0].Metadata.UID, res.Object.Metadata.UID)
	assert.Equal(t, int64(2), res.Object.Metadata.Generation)
}

func TestSnapshotAndRestart(t *testing.T) {
	s := newSingle(t)
	writeMany(t, s, "early", 30)
	require.NoError(t, s.Snapshot())
	snapIndex := s.Stats().LastSnapshotIndex
	require.NotZero(t, snapIndex)
	writeMany(t, s, "late", 10)
	before := snapshotOf(t, s)

	s = reopen(t, s)
	assert.Equal(t, snapIndex, s.Stats().LastSnapshotIndex)
	assert.Equal(t, before, snapshotOf(t, s))

	// A watch from before the snapshot has expired after a restart from it;
	// a list gives an index to resume from.
	_, err := s.Watch(ctxT(t), "vm", "", "", 3)
	require.ErrorIs(t, err, ErrExpired)
	_, index := s.List("vm", "", nil)
	w, err := s.Watch(ctxT(t), "vm", "", "", index)
	require.NoError(t, err)
	w.Stop()
}

func TestRestoreExpiresWatchers(t *testing.T) {
	s := newSingle(t)
	apply(t, s, PutCommand("vm", vm("a", `{}`)))
	apply(t, s, PutCommand("vm", vm("b", `{}`)))
	f := s.Raft().Snapshot()
	require.NoError(t, f.Error())
	meta, rc, err := f.Open()
	require.NoError(t, err)
	defer rc.Close()
	c := apply(t, s, PutCommand("vm", vm("c", `{}`)))

	fromZero, err := s.Watch(ctxT(t), "vm", "", "", 0)
	require.NoError(t, err)
	defer fromZero.Stop()
	for range 3 {
		assert.Equal(t, EventAdded, next(t, fromZero).Type)
	}
	fromNow, err := s.Watch(ctxT(t), "vm", "", "", c.Index)
	require.NoError(t, err)
	defer fromNow.Stop()

	require.NoError(t, s.Raft().Restore(meta, rc, 5*time.Second))

	for _, w := range []*Watcher{fromZero, fromNow} {
		ev := next(t, w)
		assert.Equal(t, EventError, ev.Type)
		assert.ErrorIs(t, ev.Err, ErrExpired)
		ended(t, w)
	}
	objs, index := s.List("vm", "", nil)
	require.Len(t, objs, 2, "c is gone with the restore")
	assert.Greater(t, index, c.Index, "the restored state is newer than every earlier resourceVersion")
	_, err = s.Watch(ctxT(t), "vm", "", "", c.Index)
	require.ErrorIs(t, err, ErrExpired)
	w, err := s.Watch(ctxT(t), "vm", "", "", index)
	require.NoError(t, err)
	defer w.Stop()
	d := apply(t, s, PutCommand("vm", vm("d", `{}`)))
	ev := next(t, w)
	assert.Equal(t, d.Index, ev.Index)
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := newSingle(t)
	writeMany(t, s, "x", 10)
	sec := obj("default", "s", "")
	sec.Type, sec.Data = "Opaque", json.RawMessage(`{"k":"dg=="}`)
	apply(t, s, PutCommand("secret", sec))
	apply(t, s, PutCommand("node", obj("", "n1", `{}`)))

	var buf bytes.Buffer
	require.NoError(t, newFSMSnapshot(s.state).write(&buf))
	db, index, err := readSnapshot(s.state, bytes.NewReader(buf.Bytes()), 0)
	require.NoError(t, err)
	assert.Equal(t, s.AppliedIndex(), index)

	restored := &state{kinds: s.state.kinds}
	restored.db.Store(db)
	for _, k := range api.Kinds() {
		want, _, err := s.state.List(k.Plural, "", nil)
		require.NoError(t, err)
		got, _, err := restored.List(k.Plural, "", nil)
		require.NoError(t, err)
		assert.Equal(t, want, got, k.Plural)
	}
	byNode, _, err := restored.listBy("vm", indexNode, "n1", nil)
	require.NoError(t, err)
	assert.Len(t, byNode, 4, "indexes are rebuilt")

	_, _, err = readSnapshot(s.state, bytes.NewReader([]byte(`{"format":"other"}`)), 0)
	require.Error(t, err)
	_, _, err = readSnapshot(s.state, bytes.NewReader([]byte(`{"format":"davit-raftstore/1","index":3}
{"kind":"gadgets","object":{"metadata":{"name":"g"}}}`)), 0)
	require.ErrorIs(t, err, ErrUnknownKind)
}
