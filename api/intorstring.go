package api

import (
	"encoding/json"
	"strconv"
)

// IntOrString holds an integer or a string, as Kubernetes' intstr does
// (a node's CPU count is written 2 or "2"). It marshals in the form it was
// given.
type IntOrString struct {
	IntVal   int64
	StrVal   string
	IsString bool
}

// IntOrStringFromInt returns the integer form.
func IntOrStringFromInt(n int64) IntOrString { return IntOrString{IntVal: n} }

// String returns the value as text.
func (v IntOrString) String() string {
	if v.IsString {
		return v.StrVal
	}
	return strconv.FormatInt(v.IntVal, 10)
}

// IsZero reports whether the value is unset.
func (v IntOrString) IsZero() bool { return !v.IsString && v.IntVal == 0 }

// MarshalJSON implements json.Marshaler.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.IsString {
		return json.Marshal(v.StrVal)
	}
	return []byte(strconv.FormatInt(v.IntVal, 10)), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*v = IntOrString{IsString: true}
		return json.Unmarshal(b, &v.StrVal)
	}
	*v = IntOrString{}
	if string(b) == "null" {
		return nil
	}
	return json.Unmarshal(b, &v.IntVal)
}

func (IntOrString) checkJSON(v any) string {
	switch x := v.(type) {
	case string:
		return ""
	case json.Number:
		if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return ""
		}
	}
	return "expected integer or string, got " + jsonTypeName(v)
}
