package clienttest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"davit/api"
)

// Server is the fake agent. Create it with NewServer.
type Server struct {
	*httptest.Server
	// Now stamps creationTimestamp and deletionTimestamp.
	Now func() time.Time

	mu       sync.Mutex
	rv       uint64
	objs     map[string]*api.Object
	history  []event
	oldest   uint64        // a watch from below this version gets 410
	changed  chan struct{} // closed and replaced on every change
	expire   chan struct{} // closed and replaced by ExpireWatches
	epoch    int           // counts ExpireWatches calls
	fail     map[string]*Status
	status   map[string]any
	requests []string
}

type event struct {
	rv  uint64
	typ string
	obj *api.Object
}

// Status is an error body, as the server sends it.
type Status struct {
	Kind    string         `json:"kind"`
	Status  string         `json:"status"`
	Code    int            `json:"code"`
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	Details *StatusDetails `json:"details,omitempty"`
}

// StatusDetails names the object and its field errors.
type StatusDetails struct {
	Kind   string           `json:"kind,omitempty"`
	Name   string           `json:"name,omitempty"`
	Causes []api.FieldError `json:"causes,omitempty"`
}

// NewServer starts a fake agent, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{Now: time.Now, objs: map[string]*api.Object{}, changed: make(chan struct{}),
		expire: make(chan struct{}), fail: map[string]*Status{},
		status: map[string]any{"nodeName": "node-1", "raftState": "Leader", "leader": "node-1",
			"leaderAddr": "127.0.0.1:9641", "term": 2, "appliedIndex": 10, "commitIndex": 10, "lastIndex": 10,
			"peers":   []any{map[string]any{"id": "node-1", "address": "127.0.0.1:9641", "suffrage": "Voter"}},
			"version": "v0.0.0-test", "uptimeSeconds": 95}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		writeJSON(w, http.StatusOK, s.status)
	})
	for _, p := range []string{"/v1/{plural}", "/v1/{plural}/{name}", "/v1/namespaces/{ns}/{plural}", "/v1/namespaces/{ns}/{plural}/{name}"} {
		mux.HandleFunc(p, s.resource)
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.RequestURI())
		st := s.fail[r.Method+" "+r.URL.Path]
		delete(s.fail, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		if st != nil {
			writeJSON(w, st.Code, st)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Close ends open watches and stops the server.
func (s *Server) Close() {
	s.ExpireWatches()
	s.Server.Close()
}

// Fail makes the next request with this method and path answer st.
func (s *Server) Fail(method, path string, st Status) {
	st.Kind, st.Status = "Status", "Failure"
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method+" "+path] = &st
}

// SetStatus replaces a field of /v1/status.
func (s *Server) SetStatus(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[key] = v
}

// Requests returns "METHOD /path?query" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Put stores objects as a client's PUT would, bypassing HTTP.
func (s *Server) Put(objs ...*api.Object) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range objs {
		s.store(o.DeepCopy())
	}
}

// Object returns a stored object, or nil.
func (s *Server) Object(kind, namespace, name string) *api.Object {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.objs[key(kind, namespace, name)]; o != nil {
		return o.DeepCopy()
	}
	return nil
}

// Remove deletes an object at once, finalizers or not.
func (s *Server) Remove(kind, namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.objs[key(kind, namespace, name)]; o != nil {
		s.remove(o)
	}
}

// ExpireWatches forgets the history: open watches get 410 Expired and end,
// as do new watches from any version older than now.
func (s *Server) ExpireWatches() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history, s.oldest = nil, s.rv
	s.epoch++
	close(s.expire)
	s.expire = make(chan struct{})
}

func key(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// store writes o with the next version and records the change. The caller
// holds mu.
func (s *Server) store(o *api.Object) string {
	k := key(o.Kind, o.Metadata.Namespace, o.Metadata.Name)
	old := s.objs[k]
	typ := "MODIFIED"
	if old == nil {
		typ = "ADDED"
		o.Metadata.UID = fmt.Sprintf("uid-%d", s.rv+1)
		o.Metadata.Generation = 1
		if o.Metadata.CreationTimestamp == nil {
			o.Metadata.CreationTimestamp = api.NewTime(s.Now())
		}
	} else {
		o.Metadata.UID, o.Metadata.CreationTimestamp = old.Metadata.UID, old.Metadata.CreationTimestamp
		o.Metadata.Generation = old.Metadata.Generation
		if string(o.Spec) != string(old.Spec) {
			o.Metadata.Generation++
		}
	}
	s.rv++
	o.Metadata.SetRV(s.rv)
	s.objs[k] = o
	s.record(typ, o)
	return typ
}

func (s *Server) remove(o *api.Object) {
	delete(s.objs, key(o.Kind, o.Metadata.Namespace, o.Metadata.Name))
	s.rv++
	o = o.DeepCopy()
	o.Metadata.SetRV(s.rv)
	s.record("DELETED", o)
}

func (s *Server) record(typ string, o *api.Object) {
	s.history = append(s.history, event{rv: s.rv, typ: typ, obj: o.DeepCopy()})
	close(s.changed)
	s.changed = make(chan struct{})
}

// matching returns the stored objects of a kind, sorted, filtered by
// namespace ("" = all), name ("" = all) and an equality selector.
func (s *Server) matching(kind, namespace, name, selector string) []*api.Object {
	var out []*api.Object
	for _, o := range s.objs {
		if match(o, kind, namespace, name, selector) {
			out = append(out, o.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}

func match(o *api.Object, kind, namespace, name, selector string) bool {
	if o.Kind != kind || (namespace != "" && o.Metadata.Namespace != namespace) ||
		(name != "" && o.Metadata.Name != name) {
		return false
	}
	for _, term := range strings.Split(selector, ",") {
		if k, v, ok := strings.Cut(term, "="); ok && o.Metadata.Labels[k] != v {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client hung up
}

func writeStatus(w http.ResponseWriter, code int, reason, format string, args ...any) {
	writeJSON(w, code, Status{Kind: "Status", Status: "Failure", Code: code, Reason: reason,
		Message: fmt.Sprintf(format, args...)})
}
