package printer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"davit/api"
	"davit/jsonpath"

	"sigs.k8s.io/yaml"
)

// Output types of `davit get -o`.
const (
	Table    = ""
	Wide     = "wide"
	JSON     = "json"
	YAML     = "yaml"
	Name     = "name"
	JSONPath = "jsonpath"
)

// Format is a parsed -o value.
type Format struct {
	Type     string
	Template *jsonpath.Template // for JSONPath
}

// ParseFormat parses "", "wide", "json", "yaml", "name",
// "jsonpath=TEMPLATE" or "jsonpath='TEMPLATE'".
func ParseFormat(s string) (Format, error) {
	switch s {
	case Table, Wide, JSON, YAML, Name:
		return Format{Type: s}, nil
	}
	if text, ok := strings.CutPrefix(s, "jsonpath="); ok {
		text = unquote(text)
		if text == "" {
			return Format{}, fmt.Errorf("-o jsonpath: the template is empty")
		}
		t, err := jsonpath.Parse("-o jsonpath", text)
		if err != nil {
			return Format{}, err
		}
		return Format{Type: JSONPath, Template: t.AllowMissingKeys(true)}, nil
	}
	return Format{}, fmt.Errorf("unable to match a printer suitable for the output format %q, allowed formats are: json,jsonpath,name,wide,yaml", s)
}

// unquote strips one pair of matching outer quotes, which shells leave in
// place when a user writes -o jsonpath='{...}' inside double quotes.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// IsTable reports whether f prints a table.
func (f Format) IsTable() bool { return f.Type == Table || f.Type == Wide }

// ToMap converts an object to decoded JSON (numbers as json.Number).
func ToMap(obj *api.Object) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s %q: %w", obj.Kind, obj.Metadata.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", obj.Kind, obj.Metadata.Name, err)
	}
	return m, nil
}

// ObjectName is the -o name form of an object: "virtualmachine/linux-vm".
func ObjectName(obj *api.Object) string {
	return strings.ToLower(obj.Kind) + "/" + obj.Metadata.Name
}

// Printer prints objects in the non-table formats. Successive YAML
// documents are separated by "---", as kubectl does in watch mode.
type Printer struct {
	w      io.Writer
	format Format
	count  int
}

// NewPrinter returns a Printer for a non-table format.
func NewPrinter(w io.Writer, f Format) *Printer { return &Printer{w: w, format: f} }

// PrintObject prints one object.
func (p *Printer) PrintObject(obj *api.Object) error {
	if p.format.Type == Name {
		_, err := fmt.Fprintln(p.w, ObjectName(obj))
		return err
	}
	m, err := ToMap(obj)
	if err != nil {
		return err
	}
	return p.print(m)
}

// PrintList prints several objects: a List for json, yaml and jsonpath
// (whose template then addresses .items), one line each for name.
func (p *Printer) PrintList(objs []*api.Object) error {
	if p.format.Type == Name {
		for _, o := range objs {
			if err := p.PrintObject(o); err != nil {
				return err
			}
		}
		return nil
	}
	items := make([]any, 0, len(objs))
	for _, o := range objs {
		m, err := ToMap(o)
		if err != nil {
			return err
		}
		items = append(items, m)
	}
	return p.print(map[string]any{
		"apiVersion": "v1",
		"kind":       "List",
		"items":      items,
		"metadata":   map[string]any{"resourceVersion": ""},
	})
}

func (p *Printer) print(v map[string]any) error {
	var out []byte
	var err error
	switch p.format.Type {
	case JSON:
		out, err = marshalJSON(v)
	case YAML:
		out, err = yaml.Marshal(v)
		if err == nil && p.count > 0 {
			out = append([]byte("---\n"), out...)
		}
	case JSONPath:
		var buf bytes.Buffer
		err = p.format.Template.Execute(&buf, v)
		out = buf.Bytes()
	default:
		return fmt.Errorf("printer: %q is not an object format", p.format.Type)
	}
	if err != nil {
		return fmt.Errorf("print %s: %w", p.format.Type, err)
	}
	p.count++
	_, err = p.w.Write(out)
	return err
}

// marshalJSON indents like kubectl (four spaces) but leaves &, < and >
// readable.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
