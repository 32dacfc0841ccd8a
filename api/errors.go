package api

import (
	"fmt"
	"strings"
)

// ErrorType classifies a FieldError, as Kubernetes' field.ErrorType does.
type ErrorType string

// Field error types.
const (
	ErrRequired     ErrorType = "Required"
	ErrInvalid      ErrorType = "Invalid"
	ErrForbidden    ErrorType = "Forbidden"
	ErrNotSupported ErrorType = "NotSupported"
	ErrDuplicate    ErrorType = "Duplicate"
	ErrTooLong      ErrorType = "TooLong"
	ErrTooMany      ErrorType = "TooMany"
	ErrImmutable    ErrorType = "Immutable"
	ErrUnknownField ErrorType = "UnknownField"
	ErrWrongType    ErrorType = "WrongType"
)

// FieldError is one violation, naming the field path (e.g.
// "spec.sizingPolicies[1].cores.min") and saying what is wrong.
type FieldError struct {
	Type   ErrorType `json:"type"`
	Field  string    `json:"field"`
	Detail string    `json:"message"`
	Value  string    `json:"value,omitempty"`
}

func (e FieldError) Error() string {
	if e.Type == ErrUnknownField || e.Type == ErrWrongType {
		return e.Field + ": " + e.Detail // "spec.cpu.corse: unknown field"
	}
	if e.Value != "" {
		return fmt.Sprintf("%s: %s: %q: %s", e.Field, e.Type, e.Value, e.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", e.Field, e.Type, e.Detail)
}

// FieldErrors is every violation found in one object. A nil or empty
// FieldErrors means the object is valid.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// OrNil returns es as an error, or nil when there are none.
func (es FieldErrors) OrNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Add appends a violation.
func (es *FieldErrors) Add(t ErrorType, field, detail string, value ...any) {
	e := FieldError{Type: t, Field: field, Detail: detail}
	if len(value) > 0 {
		e.Value = fmt.Sprint(value[0])
	}
	*es = append(*es, e)
}
