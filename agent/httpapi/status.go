package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"davit/api"
)

// Status is the JSON body of every error response, shaped like
// Kubernetes' metav1.Status so kubectl users recognise it.
type Status struct {
	Kind    string         `json:"kind"`
	Status  string         `json:"status"`
	Code    int            `json:"code"`
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	Details *StatusDetails `json:"details,omitempty"`
}

// StatusDetails names the object and lists every field error.
type StatusDetails struct {
	Kind   string           `json:"kind,omitempty"`
	Name   string           `json:"name,omitempty"`
	Causes []api.FieldError `json:"causes,omitempty"`
}

// Error is an error that carries its HTTP status.
type Error struct {
	Code    int
	Reason  string
	Message string
	Kind    string
	Name    string
	Causes  []api.FieldError
}

func (e *Error) Error() string { return e.Message }

func newError(code int, reason, format string, args ...any) *Error {
	return &Error{Code: code, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, "BadRequest", format, args...)
}

// invalid is a 422 listing every field error.
func invalid(kind *api.Kind, name string, errs api.FieldErrors) *Error {
	return &Error{Code: http.StatusUnprocessableEntity, Reason: "Invalid", Kind: kind.Kind, Name: name,
		Message: fmt.Sprintf("%s %q is invalid: %s", kind.Kind, name, errs.Error()), Causes: errs}
}

// writeError sends err as a Status. Errors that are not *Error become 500:
// they are davit's bugs, never the client's input.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: http.StatusInternalServerError, Reason: "InternalError", Message: err.Error()}
	}
	st := Status{Kind: "Status", Status: "Failure", Code: e.Code, Reason: e.Reason, Message: e.Message}
	if e.Kind != "" || len(e.Causes) > 0 {
		st.Details = &StatusDetails{Kind: e.Kind, Name: e.Name, Causes: e.Causes}
	}
	if e.Code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Code, st)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client hung up; nothing left to tell it
}
