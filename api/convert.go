package api

import (
	"encoding/json"
	"fmt"
)

// ToObject converts a typed resource to the store's envelope.
func ToObject(r Resource) (*Object, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.GetTypeMeta().Kind, err)
	}
	var o Object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("encode %s: %w", r.GetTypeMeta().Kind, err)
	}
	return &o, nil
}

// FromObject converts a stored object to its typed form. It is tolerant:
// stored objects were validated when written.
func FromObject(o *Object) (Resource, error) {
	k, ok := LookupKind(o.Kind)
	if !ok || k.Kind != o.Kind {
		return nil, fmt.Errorf("decode object: unknown kind %q", o.Kind)
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", o.Kind, err)
	}
	r := k.New()
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decode %s %s: %w", o.Kind, o.Key(), err)
	}
	return r, nil
}
