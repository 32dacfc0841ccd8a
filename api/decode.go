package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// VersionV1alpha3 is the class API version whose fractions are strings;
// VirtualMachineClass manifests under it are accepted and stored under
// GroupVersion (the CoreFraction type reads both forms).
const VersionV1alpha3 = "virtualization.deckhouse.io/v1alpha3"

// DocumentError is an error in one document of a manifest.
type DocumentError struct {
	Index int   // 1-based, counting the documents that are not empty
	Line  int   // 1-based line in the whole input; 0 when unknown
	Err   error // FieldErrors for unknown fields, wrong types, bad kinds
}

func (e *DocumentError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("document %d: line %d: %v", e.Index, e.Line, e.Err)
	}
	return fmt.Sprintf("document %d: %v", e.Index, e.Err)
}

func (e *DocumentError) Unwrap() error { return e.Err }

// Decode strictly decodes a manifest: multi-document YAML (split on "---"
// lines), a JSON object, or a List with items. Empty and comment-only
// documents are skipped. Every problem of every document is reported
// (errors.Join of *DocumentError); on any error no resource is returned.
func Decode(data []byte) ([]Resource, error) {
	var out []Resource
	var errs []error
	for i, d := range splitDocuments(data) {
		rs, err := decodeDocument(d)
		if err != nil {
			err.Index = i + 1
			errs = append(errs, err)
			continue
		}
		out = append(out, rs...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// DecodeObject strictly decodes one object (a JSON body, or YAML) that
// must be of kind k. Unknown fields, wrong types, and a kind or apiVersion
// that does not match are returned as FieldErrors.
func DecodeObject(data []byte, k *Kind) (Resource, error) {
	if k == nil {
		return nil, errors.New("decode: no kind given")
	}
	v, err := toGeneric(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, FieldErrors{{Type: ErrWrongType, Field: "<root>", Detail: "expected object, got " + jsonTypeName(v)}}
	}
	if kind, _ := m["kind"].(string); kind != "" && kind != k.Kind {
		return nil, FieldErrors{{Type: ErrInvalid, Field: "kind", Value: kind,
			Detail: fmt.Sprintf("expected kind %q", k.Kind)}}
	}
	return decodeResource(m, "")
}

type document struct {
	text []byte
	line int // 1-based line of the document's first line
}

var separatorRE = regexp.MustCompile(`^---\s*(#.*)?$`)

// splitDocuments splits YAML on "---" lines and drops documents that hold
// only blank lines and comments. JSON input is one document.
func splitDocuments(data []byte) []document {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if isJSON(data) {
		return []document{{text: data, line: 1}}
	}
	var docs []document
	cur := document{line: 1}
	lines := strings.SplitAfter(string(data), "\n")
	for i, l := range lines {
		if separatorRE.MatchString(strings.TrimRight(l, "\r\n")) {
			docs = appendDocument(docs, cur)
			cur = document{line: i + 2}
			continue
		}
		cur.text = append(cur.text, l...)
	}
	return appendDocument(docs, cur)
}

func appendDocument(docs []document, d document) []document {
	for _, l := range strings.Split(string(d.text), "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			return append(docs, d)
		}
	}
	return docs
}

var yamlLineRE = regexp.MustCompile(`(?:yaml: )?line (\d+): (.*)`)

// decodeDocument decodes one document into resources (several for a List).
func decodeDocument(d document) ([]Resource, *DocumentError) {
	v, err := toGeneric(d.text)
	if err != nil {
		de := &DocumentError{Err: err}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			n, _ := strconv.Atoi(m[1])
			de.Line, de.Err = d.line+n-1, errors.New(m[2])
		}
		return nil, de
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &DocumentError{Err: fmt.Errorf("expected an object, got %s", jsonTypeName(v))}
	}
	if isList(m) {
		return decodeList(m)
	}
	r, err := decodeResource(m, "")
	if err != nil {
		return nil, &DocumentError{Err: err}
	}
	return []Resource{r}, nil
}

func isList(m map[string]any) bool {
	kind, _ := m["kind"].(string)
	if kind == "List" {
		return true
	}
	if base, ok := strings.CutSuffix(kind, "List"); ok {
		_, known := kindByName(base)
		return known
	}
	return false
}

func decodeList(m map[string]any) ([]Resource, *DocumentError) {
	var errs FieldErrors
	for _, k := range sortedKeys(m) {
		if k != "apiVersion" && k != "kind" && k != "items" && k != "metadata" {
			errs.Add(ErrUnknownField, k, "unknown field")
		}
	}
	items, ok := m["items"].([]any)
	if !ok && m["items"] != nil {
		errs.Add(ErrWrongType, "items", "expected array, got "+jsonTypeName(m["items"]))
	}
	var out []Resource
	for i, it := range items {
		path := "items[" + strconv.Itoa(i) + "]"
		im, ok := it.(map[string]any)
		if !ok {
			errs.Add(ErrWrongType, path, "expected object, got "+jsonTypeName(it))
			continue
		}
		r, err := decodeResource(im, path)
		var fes FieldErrors
		switch {
		case errors.As(err, &fes):
			errs = append(errs, fes...)
		case err != nil:
			errs.Add(ErrInvalid, path, err.Error())
		default:
			out = append(out, r)
		}
	}
	if len(errs) > 0 {
		return nil, &DocumentError{Err: errs}
	}
	return out, nil
}

// toGeneric parses YAML or JSON into generic values, numbers as
// json.Number. It never panics.
func toGeneric(data []byte) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("invalid YAML: %v", p)
		}
	}()
	js := data
	if !isJSON(data) {
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, errors.New(strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: data after the object")
	}
	return v, nil
}

// isJSON reports whether data is one JSON object or array. Anything else,
// malformed JSON included, goes to the YAML parser, whose errors carry a
// line number.
func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// kindByName finds a kind by its exact kind name.
func kindByName(name string) (*Kind, bool) {
	for _, k := range Kinds() {
		if k.Kind == name {
			return k, true
		}
	}
	return nil, false
}

// decodeResource checks m against its kind's type and decodes it. path
// prefixes field paths ("items[2]").
func decodeResource(m map[string]any, path string) (Resource, error) {
	k, errs := resolveKind(m, path)
	if len(errs) > 0 {
		return nil, errs
	}
	r := k.New()
	checkStrict(path, m, reflect.TypeOf(r).Elem(), &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	m["apiVersion"] = k.APIVersion
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", k.Kind, err)
	}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", k.Kind, err)
	}
	return r, nil
}

func resolveKind(m map[string]any, path string) (*Kind, FieldErrors) {
	var errs FieldErrors
	av := typeMetaField(&errs, m, path, "apiVersion")
	kind := typeMetaField(&errs, m, path, "kind")
	if kind == "" {
		return nil, errs
	}
	k, ok := kindByName(kind)
	if !ok {
		errs.Add(ErrNotSupported, joinPath(path, "kind"), fmt.Sprintf("unknown kind %q", kind))
		return nil, errs
	}
	if av != "" && av != k.APIVersion && (kind != "VirtualMachineClass" || av != VersionV1alpha3) {
		errs.Add(ErrNotSupported, joinPath(path, "apiVersion"),
			fmt.Sprintf("kind %s is served under apiVersion %s", kind, k.APIVersion), av)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return k, nil
}

// typeMetaField reads apiVersion or kind, recording it when missing or not
// a string.
func typeMetaField(errs *FieldErrors, m map[string]any, path, name string) string {
	v, present := m[name]
	s, ok := v.(string)
	switch {
	case present && v != nil && !ok:
		errs.Add(ErrWrongType, joinPath(path, name), "expected string, got "+jsonTypeName(v))
	case s == "":
		errs.Add(ErrRequired, joinPath(path, name), name+" is required")
	}
	return s
}
