package agent

import "encoding/json"

// sameJSON reports whether a and b marshal to the same JSON (raw JSON is
// re-encoded, so key order and spacing do not matter). Controllers use it
// to write a status only when it changed.
func sameJSON(a, b any) bool {
	x, err1 := canonical(a)
	y, err2 := canonical(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, err
	}
	return json.Marshal(g)
}
