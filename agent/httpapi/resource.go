package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"davit/api"
)

// target is the resource a request addresses.
type target struct {
	kind      *api.Kind
	namespace string
	name      string
}

func (s *Server) resource(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	verb, kindName := verbOf(r), r.PathValue("plural")
	watch := verb == "watch"
	defer func() { s.metrics.observe(verb, kindName, rec.code, start, watch) }()

	t, err := parseTarget(r)
	if err != nil {
		writeError(rec, err)
		return
	}
	kindName = t.kind.Kind
	switch {
	case watch:
		s.watch(rec, r, t)
	case r.Method == http.MethodGet && t.name == "":
		s.list(rec, r, t)
	case r.Method == http.MethodGet:
		s.get(rec, r, t)
	case r.Method == http.MethodPut && t.name != "":
		s.put(rec, r, t)
	case r.Method == http.MethodDelete && t.name != "":
		s.delete(rec, r, t)
	default:
		writeError(rec, newError(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s is not allowed on %s", r.Method, r.URL.Path))
	}
}

func verbOf(r *http.Request) string {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") != "":
		return "watch"
	case r.Method == http.MethodGet && r.PathValue("name") == "":
		return "list"
	case r.Method == http.MethodGet:
		return "get"
	case r.Method == http.MethodPut:
		return "put"
	case r.Method == http.MethodDelete:
		return "delete"
	}
	return "other"
}

func parseTarget(r *http.Request) (target, error) {
	plural := r.PathValue("plural")
	k, ok := api.LookupKind(plural)
	if !ok {
		return target{}, newError(http.StatusNotFound, "NotFound", "the server doesn't have a resource type %q", plural)
	}
	t := target{kind: k, namespace: r.PathValue("ns"), name: r.PathValue("name")}
	if t.namespace != "" && !k.Namespaced {
		return target{}, badRequest("%s is cluster-scoped: it has no namespace", k.Plural)
	}
	if k.Namespaced && t.name != "" && t.namespace == "" {
		return target{}, badRequest("%s is namespaced: use /v1/namespaces/<namespace>/%s/%s", k.Plural, k.Plural, t.name)
	}
	return t, nil
}

// consistent performs a linearizable-read barrier when the client asked.
func (s *Server) consistent(ctx context.Context, r *http.Request) error {
	if r.URL.Query().Get("consistent") == "" {
		return nil
	}
	if err := s.backend.ConsistentRead(ctx); err != nil {
		return mapError(err, nil, "")
	}
	return nil
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t target) {
	ctx, cancel := requestContext(r)
	defer cancel()
	if err := s.consistent(ctx, r); err != nil {
		writeError(w, err)
		return
	}
	obj, err := s.backend.Get(t.kind.Kind, t.namespace, t.name)
	if err != nil {
		writeError(w, mapError(err, t.kind, t.name))
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// List is the body of a list response.
type List struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   ListMeta      `json:"metadata"`
	Items      []*api.Object `json:"items"`
}

// ListMeta carries the index a list was read at.
type ListMeta struct {
	ResourceVersion string `json:"resourceVersion"`
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t target) {
	ctx, cancel := requestContext(r)
	defer cancel()
	sel, err := api.ParseSelector(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeError(w, badRequest("labelSelector: %v", err))
		return
	}
	if err := s.consistent(ctx, r); err != nil {
		writeError(w, err)
		return
	}
	objs, index := s.backend.List(t.kind.Kind, t.namespace)
	items := make([]*api.Object, 0, len(objs))
	for _, o := range objs {
		if sel.Matches(o.Metadata.Labels) {
			items = append(items, o)
		}
	}
	writeJSON(w, http.StatusOK, List{APIVersion: "v1", Kind: "List",
		Metadata: ListMeta{ResourceVersion: fmt.Sprint(index)}, Items: items})
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, t target) {
	ctx, cancel := requestContext(r)
	defer cancel()
	obj, err := s.backend.Delete(ctx, t.kind.Kind, t.namespace, t.name)
	if err != nil {
		writeError(w, mapError(err, t.kind, t.name))
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// mapError turns a Backend error into an API error.
func mapError(err error, k *api.Kind, name string) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	kindName, plural := "", "object"
	if k != nil {
		kindName, plural = k.Kind, k.Plural
	}
	switch {
	case errors.Is(err, ErrNotFound):
		return &Error{Code: http.StatusNotFound, Reason: "NotFound", Kind: kindName, Name: name,
			Message: fmt.Sprintf("%s %q not found", plural, name)}
	case errors.Is(err, ErrAlreadyExists):
		return &Error{Code: http.StatusConflict, Reason: "AlreadyExists", Kind: kindName, Name: name,
			Message: fmt.Sprintf("%s %q already exists", plural, name)}
	case errors.Is(err, ErrConflict):
		return &Error{Code: http.StatusConflict, Reason: "Conflict", Kind: kindName, Name: name,
			Message: fmt.Sprintf("Operation cannot be fulfilled on %s %q: %v", plural, name, err)}
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return newError(http.StatusServiceUnavailable, "ServiceUnavailable", "%v", err)
	case errors.Is(err, ErrExpired):
		return newError(http.StatusGone, "Expired", "%v", err)
	}
	return err
}

// readBody reads a request body up to the configured limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, newError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"request body is larger than %d bytes", s.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, badRequest("read body: %v", err)
	}
	return body, nil
}
