package httpapi

import (
	"context"
	"errors"
	"net/http"

	"davit/api"
)

func (s *Server) put(w http.ResponseWriter, r *http.Request, t target) {
	ctx, cancel := requestContext(r)
	defer cancel()
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	var obj *api.Object
	var outcome Outcome
	for attempt := 0; ; attempt++ {
		obj, outcome, err = s.putOnce(ctx, body, t)
		var retry *staleImplicit
		if errors.As(err, &retry) && attempt < s.cfg.WriteRetries {
			continue // someone changed the object since we validated: validate again
		}
		break
	}
	if err != nil {
		writeError(w, mapError(err, t.kind, t.name))
		return
	}
	w.Header().Set("X-Davit-Result", string(outcome))
	code := http.StatusOK
	if outcome == Created {
		code = http.StatusCreated
	}
	writeJSON(w, code, obj)
}

// staleImplicit marks a conflict on the precondition the server added
// itself (not the client's): the write is validated again and retried.
type staleImplicit struct{ err error }

func (e *staleImplicit) Error() string { return e.err.Error() }
func (e *staleImplicit) Unwrap() error { return e.err }

func (s *Server) putOnce(ctx context.Context, body []byte, t target) (*api.Object, Outcome, error) {
	res, err := s.decode(body, t)
	if err != nil {
		return nil, "", err
	}
	meta := res.GetObjectMeta()
	var old api.Resource
	oldObj, err := s.backend.Get(t.kind.Kind, t.namespace, t.name)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, "", err
	default:
		if old, err = api.FromObject(oldObj); err != nil {
			return nil, "", err
		}
	}
	if errs := s.validate(ctx, res, old); len(errs) > 0 {
		return nil, "", invalid(t.kind, t.name, errs)
	}
	obj, err := api.ToObject(res)
	if err != nil {
		return nil, "", badRequest("encode: %v", err)
	}
	obj.Status = nil // status belongs to controllers
	precondition, implicit := meta.RV(), false
	if old != nil && precondition == 0 {
		precondition, implicit = oldObj.Metadata.RV(), true
	}
	stored, outcome, err := s.backend.Put(ctx, obj, old == nil && precondition == 0, precondition)
	if implicit && errors.Is(err, ErrConflict) {
		return nil, "", &staleImplicit{err}
	}
	return stored, outcome, err
}

// decode decodes one object strictly and checks it against the URL.
func (s *Server) decode(body []byte, t target) (api.Resource, error) {
	res, err := api.DecodeObject(body, t.kind)
	if err != nil {
		var fes api.FieldErrors
		if errors.As(err, &fes) {
			return nil, &Error{Code: http.StatusBadRequest, Reason: "BadRequest", Kind: t.kind.Kind, Name: t.name,
				Message: "decode " + t.kind.Kind + ": " + fes.Error(), Causes: fes}
		}
		return nil, badRequest("decode %s: %v", t.kind.Kind, err)
	}
	meta := res.GetObjectMeta()
	if meta.Name == "" {
		meta.Name = t.name
	}
	if meta.Name != t.name {
		return nil, badRequest("metadata.name %q does not match the name %q in the URL", meta.Name, t.name)
	}
	if t.kind.Namespaced {
		if meta.Namespace == "" {
			meta.Namespace = t.namespace
		}
		if meta.Namespace != t.namespace {
			return nil, badRequest("metadata.namespace %q does not match the namespace %q in the URL", meta.Namespace, t.namespace)
		}
	} else if meta.Namespace != "" {
		return nil, badRequest("metadata.namespace: %s is cluster-scoped and takes no namespace", t.kind.Kind)
	}
	return res, nil
}

// validate defaults res and returns every violation: the object's own
// rules, the update rules against old, and the store rules.
func (s *Server) validate(ctx context.Context, res, old api.Resource) api.FieldErrors {
	if d, ok := res.(api.Defaulter); ok {
		d.Default()
	}
	var errs api.FieldErrors
	if s.admit != nil {
		errs = append(errs, s.admit.Admit(ctx, res, old)...)
	}
	if v, ok := res.(api.Validator); ok {
		errs = append(errs, v.Validate()...)
		if old != nil {
			errs = append(errs, v.ValidateUpdate(old)...)
		}
	}
	return errs
}
