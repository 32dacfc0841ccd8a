package jsonpath

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
)

// Template is a parsed JSONPath template. It is safe for concurrent use
// once configured.
type Template struct {
	name         string
	nodes        []node
	allowMissing bool
}

// Parse parses a template such as `{.metadata.name}{"\n"}` or
// `{range .items[*]}{.metadata.name}{"\n"}{end}`. name appears in errors.
func Parse(name, text string) (*Template, error) {
	p := &parser{src: text}
	nodes, err := p.parseTemplate()
	if err != nil {
		return nil, fmt.Errorf("jsonpath %s: parse %q: %w", name, text, err)
	}
	return &Template{name: name, nodes: nodes}, nil
}

// relaxedRe is kubectl's RelaxedJSONPathExpression pattern.
var relaxedRe = regexp.MustCompile(`^\{\.?([^{}]+)\}$|^\.?([^{}]+)$`)

// Relaxed turns a bare path as printer columns and custom columns write it
// (".status.phase", "status.phase", "{.status.phase}") into a template.
func Relaxed(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	m := relaxedRe.FindStringSubmatch(path)
	if m == nil {
		return "", fmt.Errorf("jsonpath: unexpected path %q: want name1.name2, .name1.name2, {name1.name2} or {.name1.name2}", path)
	}
	spec := m[1]
	if spec == "" {
		spec = m[2]
	}
	return "{." + spec + "}", nil
}

// ParsePath parses a bare path (see Relaxed).
func ParsePath(path string) (*Template, error) {
	text, err := Relaxed(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, text)
}

// AllowMissingKeys makes missing fields and out-of-range indexes yield
// nothing instead of an error, as `kubectl get -o jsonpath` does. It
// returns t.
func (t *Template) AllowMissingKeys(allow bool) *Template {
	t.allowMissing = allow
	return t
}

// String returns the template's name.
func (t *Template) String() string { return t.name }

// Execute prints the template applied to data. data is decoded JSON; any
// other value is converted through encoding/json first. Nothing is written
// when evaluation fails.
func (t *Template) Execute(w io.Writer, data any) error {
	data, err := generic(data)
	if err != nil {
		return fmt.Errorf("jsonpath %s: %w", t.name, err)
	}
	var buf bytes.Buffer
	if err := t.exec(&buf, t.nodes, data); err != nil {
		return fmt.Errorf("jsonpath %s: %w", t.name, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("jsonpath %s: write: %w", t.name, err)
	}
	return nil
}

func (t *Template) exec(buf *bytes.Buffer, nodes []node, cur any) error {
	e := evaluator{allowMissing: t.allowMissing}
	for _, n := range nodes {
		switch n := n.(type) {
		case textNode:
			buf.WriteString(n.text)
		case *chain:
			results, err := e.chain(n, []any{cur})
			if err != nil {
				return err
			}
			if err := printResults(buf, results); err != nil {
				return err
			}
		case *rangeNode:
			items, err := e.chain(n.expr, []any{cur})
			if err != nil {
				return err
			}
			for _, item := range items {
				if err := t.exec(buf, n.body, item); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func printResults(buf *bytes.Buffer, results []any) error {
	for i, r := range results {
		s, err := format(r)
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteByte(' ')
		}
		buf.WriteString(s)
	}
	return nil
}

// FindResults evaluates every action of the template and returns their
// results, one slice per action (text outside braces gives its text; a
// range gives the results of its body for every item, in order).
func (t *Template) FindResults(data any) ([][]any, error) {
	data, err := generic(data)
	if err != nil {
		return nil, fmt.Errorf("jsonpath %s: %w", t.name, err)
	}
	out, err := t.find(nil, t.nodes, data)
	if err != nil {
		return nil, fmt.Errorf("jsonpath %s: %w", t.name, err)
	}
	return out, nil
}

func (t *Template) find(out [][]any, nodes []node, cur any) ([][]any, error) {
	e := evaluator{allowMissing: t.allowMissing}
	for _, n := range nodes {
		switch n := n.(type) {
		case textNode:
			out = append(out, []any{n.text})
		case *chain:
			results, err := e.chain(n, []any{cur})
			if err != nil {
				return nil, err
			}
			out = append(out, results)
		case *rangeNode:
			items, err := e.chain(n.expr, []any{cur})
			if err != nil {
				return nil, err
			}
			for _, item := range items {
				if out, err = t.find(out, n.body, item); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
