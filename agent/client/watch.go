package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"davit/api"
)

// EventType is the type of a watch event.
type EventType string

// Watch event types.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Error    EventType = "ERROR"
)

// Event is one change. The last event of a failed watch has Type Error and
// Err set.
type Event struct {
	Type   EventType
	Object *api.Object
	Err    error
}

// maxResumes bounds how often in a row a watch resumes without receiving
// an event before it gives up.
const maxResumes = 5

// Watch streams the changes to a kind's objects in a namespace ("" for
// every namespace, and for cluster-scoped kinds), to one object when name
// is set, and to those matching selector. With resourceVersion "" or "0"
// the stream starts with an ADDED event per current object; otherwise it
// starts after that version.
//
// Errors connecting are returned at once. Later, an expired version or a
// closed stream is resumed transparently (see the package doc); other
// failures end the channel with an Error event. The channel is closed when
// ctx ends or after an Error event; the goroutine behind it stops then.
func (c *Client) Watch(ctx context.Context, kind *api.Kind, namespace, name, selector, resourceVersion string) (<-chan Event, error) {
	w := &watcher{c: c, kind: kind, ns: namespace, name: name, selector: selector,
		known: map[string]*api.Object{}, out: make(chan Event)}
	if resourceVersion != "" {
		rv, err := strconv.ParseUint(resourceVersion, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("watch %s: resourceVersion %q is not a number", kind.Plural, resourceVersion)
		}
		w.rv, w.base = rv, rv
	}
	body, err := w.open(ctx)
	if err != nil {
		return nil, err
	}
	go w.run(ctx, body)
	return w.out, nil
}

// watcher is the state of one Watch: what the consumer has been told.
type watcher struct {
	c                  *Client
	kind               *api.Kind
	ns, name, selector string
	rv                 uint64 // the latest version seen
	base               uint64 // objects at or below it are known to the consumer
	known              map[string]*api.Object
	out                chan Event
}

func (w *watcher) open(ctx context.Context) (io.ReadCloser, error) {
	q := url.Values{"watch": {"1"}, "resourceVersion": {strconv.FormatUint(w.rv, 10)}}
	if w.selector != "" {
		q.Set("labelSelector", w.selector)
	}
	resp, err := w.c.Do(ctx, http.MethodGet, Path(w.kind, w.ns, w.name)+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// run reads streams until ctx ends or the watch fails, resuming after an
// Expired error or the end of a stream.
func (w *watcher) run(ctx context.Context, body io.ReadCloser) {
	defer close(w.out)
	for idle := 0; ; {
		got, err := w.stream(ctx, body)
		body.Close()
		if ctx.Err() != nil {
			return
		}
		if got {
			idle = 0
		}
		if idle++; idle > maxResumes {
			w.fail(ctx, fmt.Errorf("watch %s: stream keeps ending: %w", w.kind.Plural, errOr(err, io.EOF)))
			return
		}
		if IsExpired(err) {
			if err = w.resync(ctx); err != nil {
				w.fail(ctx, err)
				return
			}
		} else if err != nil {
			w.fail(ctx, err)
			return
		}
		if !sleep(ctx, time.Duration(idle-1)*200*time.Millisecond) {
			return
		}
		if body, err = w.open(ctx); err != nil {
			w.fail(ctx, err)
			return
		}
	}
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// wireEvent is one line of the stream.
type wireEvent struct {
	Type   EventType       `json:"type"`
	Object json.RawMessage `json:"object"`
}

// stream relays one response's events. It returns whether any arrived and
// why the stream ended: nil at its end, an *APIError for an ERROR event,
// or a read error.
func (w *watcher) stream(ctx context.Context, body io.Reader) (got bool, err error) {
	dec := json.NewDecoder(body)
	for {
		var ev wireEvent
		if err := dec.Decode(&ev); err != nil {
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			return got, fmt.Errorf("watch %s: read: %w", w.kind.Plural, err)
		}
		if ev.Type == Error {
			var st status
			if err := json.Unmarshal(ev.Object, &st); err != nil {
				return got, fmt.Errorf("watch %s: decode error event: %w", w.kind.Plural, err)
			}
			return got, statusError(http.StatusInternalServerError, st)
		}
		var obj api.Object
		if err := json.Unmarshal(ev.Object, &obj); err != nil {
			return got, fmt.Errorf("watch %s: decode %s event: %w", w.kind.Plural, ev.Type, err)
		}
		got = true
		if !w.emit(ctx, ev.Type, &obj) {
			return got, ctx.Err()
		}
	}
}

// emit records an event and sends it; false when ctx ended.
func (w *watcher) emit(ctx context.Context, t EventType, obj *api.Object) bool {
	key := obj.Key()
	if t == Deleted {
		delete(w.known, key)
	} else {
		w.known[key] = obj
	}
	w.rv = max(w.rv, obj.Metadata.RV())
	select {
	case w.out <- Event{Type: t, Object: obj}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watcher) fail(ctx context.Context, err error) {
	select {
	case w.out <- Event{Type: Error, Err: err}:
	case <-ctx.Done():
	}
}

// resync lists again after the server lost the history the watch needed,
// reports the differences with what the consumer knows, and moves the
// watch to the list's version.
func (w *watcher) resync(ctx context.Context) error {
	l, err := w.c.List(ctx, w.kind, w.ns, w.selector, w.ns == "")
	if err != nil {
		return fmt.Errorf("watch %s: list again after expiry: %w", w.kind.Plural, err)
	}
	seen := map[string]bool{}
	for _, obj := range l.Items {
		if w.name != "" && obj.Metadata.Name != w.name {
			continue
		}
		key := obj.Key()
		seen[key] = true
		old, ok := w.known[key]
		switch {
		case ok && old.Metadata.ResourceVersion == obj.Metadata.ResourceVersion:
			continue
		case ok:
			if !w.emit(ctx, Modified, obj) {
				return ctx.Err()
			}
		case obj.Metadata.RV() > w.base:
			if !w.emit(ctx, Added, obj) {
				return ctx.Err()
			}
		default:
			w.known[key] = obj // unchanged since the consumer's own list
		}
	}
	for key, old := range w.known {
		if !seen[key] && !w.emit(ctx, Deleted, old) {
			return ctx.Err()
		}
	}
	rv, err := strconv.ParseUint(l.Metadata.ResourceVersion, 10, 64)
	if err != nil {
		return fmt.Errorf("watch %s: list resourceVersion %q is not a number", w.kind.Plural, l.Metadata.ResourceVersion)
	}
	w.rv, w.base = rv, rv
	return nil
}
