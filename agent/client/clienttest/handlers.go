package clienttest

import (
	"encoding/json"
	"net/http"
	"strconv"

	"davit/api"
)

func (s *Server) resource(w http.ResponseWriter, r *http.Request) {
	kind, ok := api.LookupKind(r.PathValue("plural"))
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", "the server doesn't have a resource type %q", r.PathValue("plural"))
		return
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") != "":
		s.watch(w, r, kind, ns, name)
	case r.Method == http.MethodGet && name == "":
		s.mu.Lock()
		items := s.matching(kind.Kind, ns, "", r.URL.Query().Get("labelSelector"))
		rv := strconv.FormatUint(s.rv, 10)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"apiVersion": "v1", "kind": "List",
			"metadata": map[string]any{"resourceVersion": rv}, "items": items})
	case r.Method == http.MethodGet:
		if o := s.Object(kind.Kind, ns, name); o != nil {
			writeJSON(w, http.StatusOK, o)
			return
		}
		writeStatus(w, http.StatusNotFound, "NotFound", "%s %q not found", kind.Plural, name)
	case r.Method == http.MethodPut && name != "":
		s.put(w, r, kind, ns, name)
	case r.Method == http.MethodDelete && name != "":
		s.delete(w, kind, ns, name)
	default:
		writeStatus(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on %s", r.Method, r.URL.Path)
	}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, kind *api.Kind, ns, name string) {
	var o api.Object
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "decode %s: %v", kind.Kind, err)
		return
	}
	if o.Kind != kind.Kind || o.Metadata.Name != name || o.Metadata.Namespace != ns {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "the body's kind, namespace and name do not match the URL")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.objs[key(kind.Kind, ns, name)]
	if pre := o.Metadata.ResourceVersion; pre != "" && (old == nil || old.Metadata.ResourceVersion != pre) {
		writeStatus(w, http.StatusConflict, "Conflict", "Operation cannot be fulfilled on %s %q: stale resourceVersion", kind.Plural, name)
		return
	}
	result, code := "created", http.StatusCreated
	if old != nil {
		result, code = "configured", http.StatusOK
		if sameUserFields(old, &o) {
			w.Header().Set("X-Davit-Result", "unchanged")
			writeJSON(w, http.StatusOK, old)
			return
		}
		o.Status, o.Metadata.Finalizers = old.Status, old.Metadata.Finalizers
	}
	s.store(&o)
	w.Header().Set("X-Davit-Result", result)
	writeJSON(w, code, &o)
}

func sameUserFields(a, b *api.Object) bool {
	type user struct {
		Spec        json.RawMessage
		Data        json.RawMessage
		Labels      map[string]string
		Annotations map[string]string
	}
	ja, _ := json.Marshal(user{a.Spec, a.Data, a.Metadata.Labels, a.Metadata.Annotations})
	jb, _ := json.Marshal(user{b.Spec, b.Data, b.Metadata.Labels, b.Metadata.Annotations})
	return string(ja) == string(jb)
}

func (s *Server) delete(w http.ResponseWriter, kind *api.Kind, ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.objs[key(kind.Kind, ns, name)]
	if o == nil {
		writeStatus(w, http.StatusNotFound, "NotFound", "%s %q not found", kind.Plural, name)
		return
	}
	if len(o.Metadata.Finalizers) == 0 {
		s.remove(o)
		writeJSON(w, http.StatusOK, o)
		return
	}
	if o.Metadata.DeletionTimestamp == nil {
		o = o.DeepCopy()
		o.Metadata.DeletionTimestamp = api.NewTime(s.Now())
		s.store(o)
	}
	writeJSON(w, http.StatusOK, o)
}

// watch streams events as JSON lines until the client leaves, the server
// closes, or ExpireWatches.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, kind *api.Kind, ns, name string) {
	q := r.URL.Query()
	from, _ := strconv.ParseUint(q.Get("resourceVersion"), 10, 64)
	sel := q.Get("labelSelector")
	s.mu.Lock()
	epoch := s.epoch // an ExpireWatches from now on ends this stream
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush() // the client returns from Watch once it has the headers
	enc := json.NewEncoder(w)
	send := func(typ string, obj any) bool {
		err := enc.Encode(map[string]any{"type": typ, "object": obj})
		w.(http.Flusher).Flush()
		return err == nil
	}
	expired := func() {
		send("ERROR", Status{Kind: "Status", Status: "Failure", Code: http.StatusGone, Reason: "Expired",
			Message: "too old resource version"})
	}
	s.mu.Lock()
	if from > 0 && from < s.oldest {
		s.mu.Unlock()
		expired()
		return
	}
	var pending []event
	if from == 0 {
		for _, o := range s.matching(kind.Kind, ns, name, sel) {
			pending = append(pending, event{typ: "ADDED", obj: o})
		}
		from = s.rv
	}
	for {
		if s.epoch != epoch {
			s.mu.Unlock()
			expired()
			return
		}
		for _, e := range s.history {
			if e.rv > from && match(e.obj, kind.Kind, ns, name, sel) {
				pending = append(pending, e)
			}
		}
		if len(s.history) > 0 {
			from = max(from, s.history[len(s.history)-1].rv)
		}
		changed, expire := s.changed, s.expire
		s.mu.Unlock()
		for _, e := range pending {
			if !send(e.typ, e.obj) {
				return
			}
		}
		pending = nil
		select {
		case <-changed:
		case <-expire:
			expired()
			return
		case <-r.Context().Done():
			return
		}
		s.mu.Lock()
	}
}
