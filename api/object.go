package api

import (
	"encoding/json"
	"strconv"
	"time"
)

// API groups served by davit.
const (
	GroupVersion = "virtualization.deckhouse.io/v1alpha2"
	DavitVersion = "davit/v1"
)

// TypeMeta names the kind of an object.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// ObjectMeta is the metadata every object carries. The store owns UID,
// ResourceVersion, Generation, CreationTimestamp and DeletionTimestamp;
// users own the rest.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        int64             `json:"generation,omitempty"`
	CreationTimestamp *Time             `json:"creationTimestamp,omitempty"`
	DeletionTimestamp *Time             `json:"deletionTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Finalizers        []string          `json:"finalizers,omitempty"`
}

// RV returns the resourceVersion as a Raft index (0 when unset or invalid).
func (m *ObjectMeta) RV() uint64 {
	v, _ := strconv.ParseUint(m.ResourceVersion, 10, 64)
	return v
}

// SetRV stores a Raft index as the resourceVersion.
func (m *ObjectMeta) SetRV(index uint64) { m.ResourceVersion = strconv.FormatUint(index, 10) }

// Time is a timestamp that marshals as RFC 3339 with second precision, as
// Kubernetes does.
type Time struct{ time.Time }

// NewTime wraps t, truncated to seconds.
func NewTime(t time.Time) *Time { return &Time{t.UTC().Truncate(time.Second)} }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	p, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = p
	return nil
}

// Object is the kind-independent form in which the store keeps, replicates
// and serves every resource. Spec (or, for a Secret, Data and Type) is the
// user's desired state; Status is written only by controllers. The typed
// structs of this package convert to and from it with ToObject and
// FromObject.
type Object struct {
	TypeMeta
	Metadata ObjectMeta      `json:"metadata"`
	Spec     json.RawMessage `json:"spec,omitempty"`
	Type     string          `json:"type,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	Status   json.RawMessage `json:"status,omitempty"`
}

// Key is the store key of an object: "namespace/name" or "name".
func (o *Object) Key() string { return Key(o.Metadata.Namespace, o.Metadata.Name) }

// Key joins a namespace and a name into a store key.
func Key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// DeepCopy returns an independent copy of o.
func (o *Object) DeepCopy() *Object {
	b, err := json.Marshal(o)
	if err != nil {
		panic("api: marshal object: " + err.Error()) // cannot happen: all fields marshal
	}
	var c Object
	if err := json.Unmarshal(b, &c); err != nil {
		panic("api: unmarshal object: " + err.Error())
	}
	return &c
}
