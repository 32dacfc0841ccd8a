package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"davit/api"
)

// Status reasons the server sends (docs/http-api.md).
const (
	ReasonBadRequest            = "BadRequest"
	ReasonNotFound              = "NotFound"
	ReasonMethodNotAllowed      = "MethodNotAllowed"
	ReasonConflict              = "Conflict"
	ReasonAlreadyExists         = "AlreadyExists"
	ReasonRequestEntityTooLarge = "RequestEntityTooLarge"
	ReasonInvalid               = "Invalid"
	ReasonServiceUnavailable    = "ServiceUnavailable"
	ReasonExpired               = "Expired"
	ReasonInternalError         = "InternalError"
)

// APIError is an error the server answered with.
type APIError struct {
	Code    int
	Reason  string
	Message string
	// Kind and Name name the object, when the server said.
	Kind, Name string
	Causes     []api.FieldError
}

// Error prints the message and then each field error on its own line. When
// the message already ends with the field errors (as an Invalid message
// does), they are printed only once, on their own lines.
func (e *APIError) Error() string {
	if len(e.Causes) == 0 {
		return e.Message
	}
	msg := e.Message
	if joined := api.FieldErrors(e.Causes).Error(); strings.HasSuffix(msg, joined) {
		msg = strings.TrimRight(strings.TrimSuffix(msg, joined), " ")
	}
	var b strings.Builder
	b.WriteString(msg)
	for _, c := range e.Causes {
		b.WriteString("\n* ")
		b.WriteString(c.Error())
	}
	return b.String()
}

// status is the JSON body of an error response.
type status struct {
	Kind    string `json:"kind"`
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Details *struct {
		Kind   string           `json:"kind"`
		Name   string           `json:"name"`
		Causes []api.FieldError `json:"causes"`
	} `json:"details"`
}

// decodeError turns an error response into an *APIError. A body that is
// not a Status (a proxy's HTML page) becomes the message, shortened.
func decodeError(code int, body []byte) *APIError {
	var st status
	if err := json.Unmarshal(body, &st); err == nil && st.Kind == "Status" {
		return statusError(code, st)
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return &APIError{Code: code, Reason: reasonForCode(code), Message: msg}
}

func statusError(code int, st status) *APIError {
	e := &APIError{Code: st.Code, Reason: st.Reason, Message: st.Message}
	if e.Code == 0 {
		e.Code = code
	}
	if e.Reason == "" {
		e.Reason = reasonForCode(e.Code)
	}
	if st.Details != nil {
		e.Kind, e.Name, e.Causes = st.Details.Kind, st.Details.Name, st.Details.Causes
	}
	return e
}

func reasonForCode(code int) string {
	switch code {
	case http.StatusBadRequest:
		return ReasonBadRequest
	case http.StatusNotFound:
		return ReasonNotFound
	case http.StatusMethodNotAllowed:
		return ReasonMethodNotAllowed
	case http.StatusConflict:
		return ReasonConflict
	case http.StatusRequestEntityTooLarge:
		return ReasonRequestEntityTooLarge
	case http.StatusUnprocessableEntity:
		return ReasonInvalid
	case http.StatusServiceUnavailable:
		return ReasonServiceUnavailable
	case http.StatusGone:
		return ReasonExpired
	}
	return fmt.Sprintf("HTTP%d", code)
}

// ReasonOf returns the reason of an *APIError in err's chain, or "".
func ReasonOf(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// IsNotFound reports whether the server said the object does not exist.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsConflict reports a stale resourceVersion precondition.
func IsConflict(err error) bool { return ReasonOf(err) == ReasonConflict }

// IsAlreadyExists reports a create of an object that exists.
func IsAlreadyExists(err error) bool { return ReasonOf(err) == ReasonAlreadyExists }

// IsInvalid reports a validation failure (see APIError.Causes).
func IsInvalid(err error) bool { return ReasonOf(err) == ReasonInvalid }

// IsBadRequest reports a body the server could not decode.
func IsBadRequest(err error) bool { return ReasonOf(err) == ReasonBadRequest }

// IsUnavailable reports that the cluster has no leader or timed out.
func IsUnavailable(err error) bool { return ReasonOf(err) == ReasonServiceUnavailable }

// IsExpired reports a watch resourceVersion older than the server's history.
func IsExpired(err error) bool { return ReasonOf(err) == ReasonExpired }
