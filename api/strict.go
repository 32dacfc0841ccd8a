package api

import (
	"encoding/json"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// jsonChecker is implemented by types with their own JSON form (Quantity,
// CoreFraction, Time, ...): checkJSON returns "" when v, a generic JSON
// value, decodes into the type, and otherwise says what was expected.
type jsonChecker interface {
	checkJSON(v any) string
}

var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	checkerType    = reflect.TypeFor[jsonChecker]()
)

// checkStrict walks v (a value decoded with UseNumber) against the Go type
// t by json tags and records every unknown field and wrong type, with its
// path.
func checkStrict(path string, v any, t reflect.Type, errs *FieldErrors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || t == rawMessageType || t.Kind() == reflect.Interface {
		return // null decodes into anything as its zero value
	}
	if reflect.PointerTo(t).Implements(checkerType) {
		if msg := reflect.New(t).Interface().(jsonChecker).checkJSON(v); msg != "" {
			errs.Add(ErrWrongType, path, msg)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		checkStruct(path, v, t, errs)
	case reflect.Map:
		checkMap(path, v, t, errs)
	case reflect.Slice, reflect.Array:
		checkSlice(path, v, t, errs)
	default:
		if msg := checkScalar(v, t); msg != "" {
			errs.Add(ErrWrongType, path, msg)
		}
	}
}

func checkStruct(path string, v any, t reflect.Type, errs *FieldErrors) {
	m, ok := v.(map[string]any)
	if !ok {
		errs.Add(ErrWrongType, path, "expected object, got "+jsonTypeName(v))
		return
	}
	fields := jsonFields(t)
	for _, k := range sortedKeys(m) {
		ft, ok := fields[k]
		if !ok {
			errs.Add(ErrUnknownField, joinPath(path, k), "unknown field")
			continue
		}
		checkStrict(joinPath(path, k), m[k], ft, errs)
	}
}

func checkMap(path string, v any, t reflect.Type, errs *FieldErrors) {
	m, ok := v.(map[string]any)
	if !ok {
		errs.Add(ErrWrongType, path, "expected object, got "+jsonTypeName(v))
		return
	}
	for _, k := range sortedKeys(m) {
		checkStrict(path+"["+k+"]", m[k], t.Elem(), errs)
	}
}

func checkSlice(path string, v any, t reflect.Type, errs *FieldErrors) {
	if t.Elem().Kind() == reflect.Uint8 { // []byte is base64 text
		if _, ok := v.(string); !ok {
			errs.Add(ErrWrongType, path, "expected string, got "+jsonTypeName(v))
		}
		return
	}
	a, ok := v.([]any)
	if !ok {
		errs.Add(ErrWrongType, path, "expected array, got "+jsonTypeName(v))
		return
	}
	for i, e := range a {
		checkStrict(path+"["+strconv.Itoa(i)+"]", e, t.Elem(), errs)
	}
}

func checkScalar(v any, t reflect.Type) string {
	got := jsonTypeName(v)
	switch t.Kind() {
	case reflect.String:
		if got != "string" {
			return "expected string, got " + got
		}
	case reflect.Bool:
		if got != "boolean" {
			return "expected boolean, got " + got
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if got != "integer" {
			return "expected integer, got " + got
		}
		n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		if err != nil || reflect.Zero(t).OverflowInt(n) {
			return "integer " + string(v.(json.Number)) + " out of range"
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if got != "integer" {
			return "expected non-negative integer, got " + got
		}
		n, err := strconv.ParseUint(string(v.(json.Number)), 10, 64)
		if err != nil || reflect.Zero(t).OverflowUint(n) {
			return "integer " + string(v.(json.Number)) + " out of range"
		}
	case reflect.Float32, reflect.Float64:
		if got != "integer" && got != "number" {
			return "expected number, got " + got
		}
		f, err := strconv.ParseFloat(string(v.(json.Number)), 64)
		if err != nil || math.IsInf(f, 0) {
			return "number " + string(v.(json.Number)) + " out of range"
		}
	default:
		return "cannot decode into " + t.String()
	}
	return ""
}

// jsonFields maps each JSON field name of struct t to its type, flattening
// embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, dup := out[k]; !dup {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// jsonTypeName names the JSON type of a generic value.
func jsonTypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return "integer"
		}
		if !strings.ContainsAny(string(x), ".eE") {
			return "integer" // too large for int64, still an integer
		}
		return "number"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "unknown"
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
