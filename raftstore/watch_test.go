package raftstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"davit/api"
)

// next receives one event or fails the test after a few seconds.
func next(t *testing.T, w *Watcher) Event {
	t.Helper()
	select {
	case ev, ok := <-w.Events():
		require.True(t, ok, "watch ended")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
		return Event{}
	}
}

// ended waits for the watch's channel to close, skipping events.
func ended(t *testing.T, w *Watcher) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-w.Events():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch did not end")
		}
	}
}

func TestWatchFromZeroListsThenStreams(t *testing.T) {
	s := newSingle(t)
	a := apply(t, s, PutCommand("vm", vm("a", `{"n":1}`)))
	apply(t, s, PutCommand("vm", obj("other", "x", `{}`)))
	b := apply(t, s, PutCommand("vm", vm("b", `{"n":1}`)))
	apply(t, s, PutCommand("vm", vm("c", `{}`)))

	w, err := s.Watch(ctxT(t), "virtualmachines", "default", "", 0)
	require.NoError(t, err)
	defer w.Stop()
	for _, want := range []string{"a", "b", "c"} {
		ev := next(t, w)
		assert.Equal(t, EventAdded, ev.Type)
		assert.Equal(t, want, ev.Object.Metadata.Name)
		assert.Equal(t, ev.Object.Metadata.RV(), ev.Index)
	}
	assert.Equal(t, a.Index, a.Object.Metadata.RV())
	assert.Equal(t, b.Index, b.Object.Metadata.RV())

	mod := apply(t, s, PutCommand("vm", vm("b", `{"n":2}`)))
	apply(t, s, PutCommand("vm", obj("other", "y", `{}`))) // another namespace: not seen
	del := apply(t, s, DeleteCommand("vm", "default", "c", ""))
	add := apply(t, s, PutCommand("vm", vm("d", `{}`)))
	apply(t, s, PutCommand("vm", vm("d", `{}`))) // unchanged: no event

	ev := next(t, w)
	assert.Equal(t, EventModified, ev.Type)
	assert.Equal(t, mod.Index, ev.Index)
	assert.JSONEq(t, `{"n":2}`, string(ev.Object.Spec))
	ev = next(t, w)
	assert.Equal(t, EventDeleted, ev.Type)
	assert.Equal(t, "c", ev.Object.Metadata.Name)
	assert.Equal(t, del.Index, ev.Index)
	assert.Equal(t, del.Index, ev.Object.Metadata.RV())
	ev = next(t, w)
	assert.Equal(t, EventAdded, ev.Type)
	assert.Equal(t, add.Index, ev.Index)

	// Events are copies: changing one changes nothing stored.
	ev.Object.Metadata.Labels = map[string]string{"mutated": "yes"}
	got, err := s.Get("vm", "default", "d")
	require.NoError(t, err)
	assert.Empty(t, got.Metadata.Labels)
}

// A writer does 500 writes while watchers start in the middle: the one from
// an index sees exactly the writes after it, in order, once each; the one
// from 0 sees a list and then a stream that together give the final state.
func TestWatchWithoutGaps(t *testing.T) {
	s := newSingle(t)
	const writes = 500
	ctx := ctxT(t)
	var (
		wg      sync.WaitGroup
		indexes []uint64
		werr    error
	)
	mid := make(chan uint64, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range writes {
			res, err := s.Apply(ctx, PutCommand("vm", vm(fmt.Sprintf("vm%d", i%7), fmt.Sprintf(`{"n":%d}`, i))))
			if err != nil {
				werr = err
				close(mid)
				return
			}
			indexes = append(indexes, res.Index)
			if i == writes/2 {
				mid <- res.Index
			}
		}
	}()
	from, ok := <-mid
	require.True(t, ok, "writer failed")
	fromIndex, err := s.Watch(ctx, "vm", "", "", from)
	require.NoError(t, err)
	defer fromIndex.Stop()
	fromZero, err := s.Watch(ctx, "vm", "default", "", 0)
	require.NoError(t, err)
	defer fromZero.Stop()
	wg.Wait()
	require.NoError(t, werr)
	last := indexes[len(indexes)-1]

	var want, got []uint64
	for _, i := range indexes {
		if i > from {
			want = append(want, i)
		}
	}
	for len(got) == 0 || got[len(got)-1] < last {
		ev := next(t, fromIndex)
		require.Equal(t, EventModified, ev.Type)
		got = append(got, ev.Index)
	}
	assert.Equal(t, want, got)

	// Replay the list-then-watch: it must end at the stored state.
	rv := map[string]uint64{}
	var prev uint64
	for {
		ev := next(t, fromZero)
		if ev.Type != EventAdded {
			require.Greater(t, ev.Index, prev, "events after the list are in index order")
			prev = ev.Index
		}
		rv[ev.Object.Metadata.Name] = ev.Object.Metadata.RV()
		if ev.Index == last {
			break
		}
	}
	objs, index := s.List("vm", "", nil)
	assert.Equal(t, last, index)
	require.Len(t, objs, 7)
	for _, o := range objs {
		assert.Equal(t, o.Metadata.RV(), rv[o.Metadata.Name], o.Metadata.Name)
	}
}

func TestWatchExpired(t *testing.T) {
	s := newSingle(t, func(c *Config) { c.WatchHistory = 10 })
	first := apply(t, s, PutCommand("vm", vm("a", `{"n":0}`)))
	for i := 1; i <= 20; i++ {
		apply(t, s, PutCommand("vm", vm("a", fmt.Sprintf(`{"n":%d}`, i))))
	}
	_, err := s.Watch(ctxT(t), "vm", "", "", first.Index)
	require.ErrorIs(t, err, ErrExpired)

	// Recent enough is fine.
	w, err := s.Watch(ctxT(t), "vm", "", "", s.AppliedIndex()-5)
	require.NoError(t, err)
	w.Stop()

	// A consumer that stops reading falls behind the history and expires;
	// the writes go on meanwhile.
	slow, err := s.Watch(ctxT(t), "vm", "", "", s.AppliedIndex())
	require.NoError(t, err)
	defer slow.Stop()
	for i := 0; i < 30; i++ {
		apply(t, s, PutCommand("vm", vm("a", fmt.Sprintf(`{"m":%d}`, i))))
	}
	var last Event
	for ev := range slow.Events() {
		last = ev
	}
	assert.Equal(t, EventError, last.Type)
	assert.ErrorIs(t, last.Err, ErrExpired)
}

func TestWatchFiltersAndEnds(t *testing.T) {
	s := newSingle(t)
	apply(t, s, PutCommand("vm", vm("a", `{}`)))
	apply(t, s, PutCommand("vm", vm("b", `{}`)))
	apply(t, s, PutCommand("node", obj("", "b", `{}`)))

	ctx, cancel := context.WithCancel(ctxT(t))
	w, err := s.Watch(ctx, "vm", "default", "b", 0)
	require.NoError(t, err)
	ev := next(t, w)
	assert.Equal(t, "b", ev.Object.Metadata.Name)
	assert.Equal(t, "virtualmachines", ev.Kind)
	apply(t, s, PutCommand("vm", vm("a", `{"x":1}`)))
	apply(t, s, PutCommand("node", obj("", "b", `{"x":1}`)))
	st := vm("b", "")
	st.Status = json.RawMessage(`{"phase":"Running"}`)
	res := apply(t, s, UpdateStatusCommand("vm", st))
	ev = next(t, w)
	assert.Equal(t, res.Index, ev.Index)
	assert.Equal(t, "b", ev.Object.Metadata.Name)

	cancel()
	ended(t, w)
	w.Stop() // after the end: returns at once

	w2, err := s.Watch(ctxT(t), "vm", "", "", s.AppliedIndex())
	require.NoError(t, err)
	w2.Stop()
	ended(t, w2)

	_, err = s.Watch(ctxT(t), "nonsense", "", "", 0)
	require.ErrorIs(t, err, ErrUnknownKind)

	// Close ends open watches and refuses new ones.
	w3, err := s.Watch(ctxT(t), "vm", "", "", 0)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	ended(t, w3)
	_, err = s.Watch(ctxT(t), "vm", "", "", 0)
	require.ErrorIs(t, err, ErrClosed)
}

func TestListSortedIndexedAndCopied(t *testing.T) {
	s := newSingle(t)
	for _, o := range []*api.Object{obj("a-x", "z", `{}`), obj("a", "b", `{}`), obj("a", "a", `{}`), obj("b", "a", `{}`)} {
		apply(t, s, PutCommand("vm", o))
	}
	objs, index := s.List("vm", "", nil)
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key())
	}
	assert.Equal(t, []string{"a/a", "a/b", "a-x/z", "b/a"}, keys)
	assert.Equal(t, s.AppliedIndex(), index)

	objs, _ = s.List("virtualmachine", "a", func(o *api.Object) bool { return o.Metadata.Name == "b" })
	require.Len(t, objs, 1)
	assert.Equal(t, "a/b", objs[0].Key())

	for _, name := range []string{"a", "b"} {
		st := obj("a", name, "")
		st.Status = json.RawMessage(`{"nodeName":"n` + name + `","phase":"Running"}`)
		apply(t, s, UpdateStatusCommand("vm", st))
	}
	byNode, _ := s.ListByNode("vm", "nb")
	require.Len(t, byNode, 1)
	assert.Equal(t, "a/b", byNode[0].Key())
	byPhase, _ := s.ListByPhase("vm", "Running")
	assert.Len(t, byPhase, 2)
	// Moving an object to another node moves it in the index.
	st := obj("a", "b", "")
	st.Status = json.RawMessage(`{"nodeName":"na"}`)
	apply(t, s, UpdateStatusCommand("vm", st))
	byNode, _ = s.ListByNode("vm", "nb")
	assert.Empty(t, byNode)
	byNode, _ = s.ListByNode("vm", "na")
	assert.Len(t, byNode, 2)

	// Returned objects are copies.
	objs[0].Spec = json.RawMessage(`{"mutated":true}`)
	objs[0].Metadata.Labels = map[string]string{"x": "y"}
	got, err := s.Get("vm", "a", "b")
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(got.Spec))
	assert.Empty(t, got.Metadata.Labels)

	none, _ := s.List("nonsense", "", nil)
	assert.Empty(t, none)
	_, err = s.Get("nonsense", "", "x")
	require.ErrorIs(t, err, ErrUnknownKind)
}
