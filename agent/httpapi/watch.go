package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"davit/api"
)

// watchLine is one line of a watch stream.
type watchLine struct {
	Type   EventType `json:"type"`
	Object any       `json:"object"`
}

func (s *Server) watch(w http.ResponseWriter, r *http.Request, t target) {
	q := r.URL.Query()
	sel, err := api.ParseSelector(q.Get("labelSelector"))
	if err != nil {
		writeError(w, badRequest("labelSelector: %v", err))
		return
	}
	from := uint64(0)
	if rv := q.Get("resourceVersion"); rv != "" {
		if from, err = strconv.ParseUint(rv, 10, 64); err != nil {
			writeError(w, badRequest("resourceVersion: %q is not a non-negative integer", rv))
			return
		}
	}
	events, err := s.backend.Watch(r.Context(), t.kind.Kind, t.namespace, t.name, from)
	if err != nil {
		writeError(w, mapError(err, t.kind, t.name))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for ev := range events {
		line := watchLine{Type: ev.Type, Object: ev.Object}
		if ev.Err != nil {
			line = watchLine{Type: Failure, Object: statusOf(mapError(ev.Err, t.kind, t.name))}
		} else if ev.Object != nil && !sel.Matches(ev.Object.Metadata.Labels) {
			continue
		}
		if err := enc.Encode(line); err != nil {
			return // client gone; the backend stops the stream with the request context
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

func statusOf(err error) Status {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: http.StatusInternalServerError, Reason: "InternalError", Message: err.Error()}
	}
	return Status{Kind: "Status", Status: "Failure", Code: e.Code, Reason: e.Reason, Message: e.Message}
}
