package jsonpath

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// compare applies a filter operator. Values of different types are never
// equal and never ordered; numbers compare by value whatever their Go type.
func compare(op string, a, b any) bool {
	if c, ok := order(a, b); ok {
		switch op {
		case "==":
			return c == 0
		case "!=":
			return c != 0
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		case ">=":
			return c >= 0
		}
		return false
	}
	eq := equal(a, b)
	switch op {
	case "==":
		return eq
	case "!=":
		return !eq
	}
	return false
}

// order compares two numbers or two strings.
func order(a, b any) (int, bool) {
	if sa, ok := a.(string); ok {
		if sb, ok := b.(string); ok {
			return strings.Compare(sa, sb), true
		}
		return 0, false
	}
	ia, aInt, fa, aOK := number(a)
	ib, bInt, fb, bOK := number(b)
	switch {
	case !aOK || !bOK:
		return 0, false
	case aInt && bInt:
		return cmp3(ia < ib, ia > ib), true
	}
	return cmp3(fa < fb, fa > fb), true
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// number reads any numeric value as an int64 (when integral) and a float64.
func number(v any) (i int64, isInt bool, f float64, ok bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true, float64(i), true
		}
		f, err := x.Float64()
		return 0, false, f, err == nil
	case int:
		return int64(x), true, float64(x), true
	case int64:
		return x, true, float64(x), true
	case int32:
		return int64(x), true, float64(x), true
	case uint32:
		return int64(x), true, float64(x), true
	case float64:
		return 0, false, x, true
	case float32:
		return 0, false, float64(x), true
	}
	return 0, false, 0, false
}

// format prints one result as kubectl does: strings raw, maps and lists
// as compact JSON, null as "null", numbers and bools as Go prints them.
func format(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool, int, int64, int32, uint32, float32:
		return fmt.Sprint(x), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("print %T: %w", v, err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// generic turns any JSON-marshalable value into the decoded-JSON form the
// evaluator walks; values already in that form are returned as they are.
func generic(v any) (any, error) {
	switch v.(type) {
	case nil, map[string]any, []any, string, bool, json.Number, float64, int, int64:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return out, nil
}

// FormatValue prints one decoded JSON value as a template prints a result:
// strings raw, maps and lists as compact JSON, null as "null".
func FormatValue(v any) (string, error) { return format(v) }
