package raftstore

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"davit/api"
)

// EventType is the type of a watch event, as the HTTP API spells it.
type EventType string

// Watch event types.
const (
	EventAdded    EventType = "ADDED"
	EventModified EventType = "MODIFIED"
	EventDeleted  EventType = "DELETED"
	// EventError ends a watch; Err says why (ErrExpired: list again).
	EventError EventType = "ERROR"
)

// Event is one change of one object, or the error that ends a watch.
type Event struct {
	Type EventType
	Kind string // the kind's plural
	// Index is the Raft index of the change: the object's resourceVersion.
	// For the ADDED events that start a watch from 0, it is the object's
	// resourceVersion too.
	Index  uint64
	Object *api.Object
	Err    error
}

// hub is the bounded history of changes that watchers read at their own
// pace. The FSM appends (never blocking on a watcher); a snapshot restore
// resets it, which expires every watcher.
type hub struct {
	mu     sync.Mutex
	ring   []Event // capacity = the configured history
	start  int     // position of the oldest event
	n      int     // events kept
	floor  uint64  // events with Index <= floor may be gone
	epoch  uint64  // bumped by every reset
	notify chan struct{}
	closed bool
	done   chan struct{} // closed by close
	wg     sync.WaitGroup
}

func newHub(size int) *hub {
	return &hub{ring: make([]Event, size), notify: make(chan struct{}), done: make(chan struct{})}
}

func (h *hub) at(i int) *Event { return &h.ring[(h.start+i)%len(h.ring)] }

// append adds an event (indexes only grow) and wakes the watchers.
func (h *hub) append(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == len(h.ring) {
		h.floor = h.ring[h.start].Index
		h.ring[h.start] = Event{}
		h.start = (h.start + 1) % len(h.ring)
		h.n--
	}
	*h.at(h.n) = ev
	h.n++
	h.wakeLocked()
}

// reset forgets every event after a restore to index: open watchers expire.
func (h *hub) reset(index uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.ring)
	h.start, h.n, h.floor = 0, 0, index
	h.epoch++
	h.wakeLocked()
}

func (h *hub) wakeLocked() {
	close(h.notify)
	h.notify = make(chan struct{})
}

// position returns the epoch, and an error when changes after index are no
// longer all kept.
func (h *hub) position(index uint64) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if index < h.floor {
		return h.epoch, fmt.Errorf("watch from index %d: history starts after %d: %w", index, h.floor, ErrExpired)
	}
	return h.epoch, nil
}

// since returns up to limit events after cursor that match, the cursor to
// continue from, and a channel closed at the next append or reset.
func (h *hub) since(cursor, epoch uint64, match func(*Event) bool, limit int) ([]Event, uint64, <-chan struct{}, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if epoch != h.epoch {
		return nil, cursor, nil, fmt.Errorf("watch: the state was replaced by a snapshot: %w", ErrExpired)
	}
	if cursor < h.floor {
		return nil, cursor, nil, fmt.Errorf("watch at index %d fell behind the history, which starts after %d: %w",
			cursor, h.floor, ErrExpired)
	}
	var out []Event
	for i := sort.Search(h.n, func(i int) bool { return h.at(i).Index > cursor }); i < h.n && len(out) < limit; i++ {
		ev := h.at(i)
		cursor = ev.Index
		if match(ev) {
			out = append(out, *ev)
		}
	}
	return out, cursor, h.notify, nil
}

// register counts a new watcher goroutine; false once the hub is closed.
func (h *hub) register() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.wg.Add(1)
	return true
}

// close ends every watcher and waits for their goroutines.
func (h *hub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// Watcher streams the changes of one watch. Its goroutine ends, and Events
// is closed, when the context is cancelled, Stop is called, the store is
// closed, or after an EventError.
type Watcher struct {
	events   chan Event
	stop     chan struct{}
	stopOnce sync.Once
	ended    chan struct{}
}

// Events returns the stream. Objects in events are the receiver's own.
func (w *Watcher) Events() <-chan Event { return w.events }

// Stop ends the watch and waits for its goroutine to end.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() { close(w.stop) })
	<-w.ended
}

// watchBatch bounds how many events a watcher takes from the history at once.
const watchBatch = 256

// Watch streams the changes of a kind, optionally restricted to a namespace
// and a name (empty: all). With fromIndex 0 it first sends an ADDED event for
// every current object, read atomically with the state's index, then every
// change after that index. With fromIndex N > 0 it sends every change with an
// index above N, or fails with ErrExpired when the history no longer reaches
// back to N. A watcher that falls behind the history, or whose state is
// replaced by a snapshot restore, gets an EventError wrapping ErrExpired and
// ends. The watch ends when ctx is done, on Stop, or when the store closes.
func (s *Store) Watch(ctx context.Context, kind, namespace, name string, fromIndex uint64) (*Watcher, error) {
	k, err := s.state.resolve(kind)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	match := func(ev *Event) bool {
		o := ev.Object.Metadata
		return ev.Kind == k.Plural && (namespace == "" || o.Namespace == namespace) &&
			(name == "" || o.Name == name)
	}
	var initial []*api.Object
	cursor := fromIndex
	epoch, err := s.hub.position(fromIndex)
	if fromIndex == 0 {
		txn := s.state.db.Load().Txn(false)
		cursor = txnIndex(txn)
		if initial, err = scan(txn, k.Plural, indexID+"_prefix", ""); err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		initial = slices.DeleteFunc(initial, func(o *api.Object) bool {
			return !match(&Event{Kind: k.Plural, Object: o})
		})
		sortObjects(initial)
	} else if err != nil {
		return nil, err
	}
	if !s.hub.register() {
		return nil, fmt.Errorf("watch: %w", ErrClosed)
	}
	w := &Watcher{events: make(chan Event), stop: make(chan struct{}), ended: make(chan struct{})}
	go w.run(ctx, s.hub, k.Plural, initial, cursor, epoch, match)
	return w, nil
}

func (w *Watcher) run(ctx context.Context, h *hub, plural string, initial []*api.Object,
	cursor, epoch uint64, match func(*Event) bool) {
	defer h.wg.Done()
	defer close(w.ended)
	defer close(w.events)
	for _, o := range initial {
		ev := Event{Type: EventAdded, Kind: plural, Index: o.Metadata.RV(), Object: o}
		if !w.send(ctx, h, ev) {
			return
		}
	}
	for {
		evs, next, wake, err := h.since(cursor, epoch, match, watchBatch)
		if err != nil {
			w.send(ctx, h, Event{Type: EventError, Kind: plural, Index: cursor, Err: err})
			return
		}
		cursor = next
		for _, ev := range evs {
			if !w.send(ctx, h, ev) {
				return
			}
		}
		if len(evs) > 0 {
			continue
		}
		select {
		case <-wake:
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		case <-h.done:
			return
		}
	}
}

// send delivers a copy of ev; false when the watch must end instead.
func (w *Watcher) send(ctx context.Context, h *hub, ev Event) bool {
	if ev.Object != nil {
		ev.Object = ev.Object.DeepCopy()
	}
	select {
	case w.events <- ev:
		return true
	case <-w.stop:
	case <-ctx.Done():
	case <-h.done:
	}
	return false
}
