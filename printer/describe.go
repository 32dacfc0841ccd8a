package printer

import (
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"unicode"

	"davit/api"
)

// Describe prints one object as `kubectl describe` prints a custom
// resource: the header fields, then metadata, spec and status as indented
// "Key:  value" blocks with camelCase keys spelled out ("dataSource" as
// "Data Source"), then the conditions as a table. A Secret's data shows
// only sizes.
func Describe(w io.Writer, obj *api.Object) error {
	m, err := ToMap(obj)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	d := &describer{w: tw}
	meta := obj.Metadata
	d.line(0, "Name:\t%s", meta.Name)
	d.line(0, "Namespace:\t%s", meta.Namespace)
	d.pairs("Labels", meta.Labels, "=")
	d.pairs("Annotations", meta.Annotations, ": ")
	d.line(0, "API Version:\t%s", obj.APIVersion)
	d.line(0, "Kind:\t%s", obj.Kind)
	d.block(0, "Metadata", without(nested(m, "metadata"), "name", "namespace", "labels", "annotations"))
	d.block(0, "Spec", m["spec"])
	if obj.Type != "" {
		d.line(0, "Type:\t%s", obj.Type)
	}
	if data, ok := m["data"].(map[string]any); ok {
		d.secretData(data)
	}
	status, _ := m["status"].(map[string]any)
	d.block(0, "Status", without(status, "conditions"))
	d.conditions(conditions(m))
	if d.err != nil {
		return fmt.Errorf("describe %s %q: %w", obj.Kind, meta.Name, d.err)
	}
	return tw.Flush()
}

// DescribeFields prints any decoded JSON object as describe prints a spec:
// "Key:  value" lines in key order, nested blocks indented.
func DescribeFields(w io.Writer, m map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	d := &describer{w: tw}
	d.fields(0, m)
	if d.err != nil {
		return d.err
	}
	return tw.Flush()
}

// describer writes indented lines through a tabwriter and keeps the first
// write error.
type describer struct {
	w   io.Writer
	err error
}

func (d *describer) line(level int, format string, args ...any) {
	if d.err != nil {
		return
	}
	_, d.err = fmt.Fprintf(d.w, strings.Repeat("  ", level)+format+"\n", args...)
}

// pairs prints labels or annotations, one per line, or <none>.
func (d *describer) pairs(title string, m map[string]string, sep string) {
	if len(m) == 0 {
		d.line(0, "%s:\t<none>", title)
		return
	}
	keys := sortedKeys(m)
	for i, k := range keys {
		label := title + ":"
		if i > 0 {
			label = ""
		}
		d.line(0, "%s\t%s%s%s", label, k, sep, m[k])
	}
}

// block prints "Title:" and the fields of v beneath it, unless v is empty.
func (d *describer) block(level int, title string, v any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return
	}
	d.line(level, "%s:", title)
	d.fields(level+1, m)
}

// fields prints a map's fields in key order, as kubectl's describe prints
// unstructured content.
func (d *describer) fields(level int, m map[string]any) {
	for _, k := range sortedKeys(m) {
		label := smartLabel(k)
		switch v := m[k].(type) {
		case map[string]any:
			d.line(level, "%s:", label)
			d.fields(level+1, v)
		case []any:
			d.line(level, "%s:", label)
			d.items(level+1, v)
		default:
			d.scalar(level, label, v)
		}
	}
}

func (d *describer) items(level int, list []any) {
	for _, item := range list {
		switch v := item.(type) {
		case map[string]any:
			d.fields(level, v)
		case []any:
			d.items(level+1, v)
		default:
			s := cellText(v)
			if str, ok := v.(string); ok {
				s = str
			}
			d.line(level, "%s", s)
		}
	}
}

// scalar prints "Label:\tvalue"; a multi-line string goes below its label.
func (d *describer) scalar(level int, label string, v any) {
	s, ok := v.(string)
	if !ok && v != nil { // null prints as nothing
		s = cellText(v)
	}
	if !strings.Contains(s, "\n") {
		d.line(level, "%s:\t%s", label, s)
		return
	}
	d.line(level, "%s:", label)
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		d.line(level+1, "%s", l)
	}
}

// secretData prints a Secret's keys with their sizes, never the values.
func (d *describer) secretData(data map[string]any) {
	d.line(0, "Data:")
	for _, k := range sortedKeys(data) {
		s, _ := data[k].(string)
		size := len(s)
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			size = len(b)
		}
		d.line(1, "%s:\t%d bytes", k, size)
	}
}

// conditions prints the conditions as a table.
func (d *describer) conditions(conds []map[string]any) {
	if len(conds) == 0 {
		return
	}
	d.line(0, "Conditions:")
	d.line(1, "Type\tStatus\tReason\tMessage\tLast Transition")
	d.line(1, "----\t------\t------\t-------\t---------------")
	for _, c := range conds {
		cell := func(k string) string {
			if c[k] == nil {
				return ""
			}
			return strings.ReplaceAll(cellText(c[k]), "\t", " ")
		}
		d.line(1, "%s\t%s\t%s\t%s\t%s", cell("type"), cell("status"), cell("reason"),
			cell("message"), cell("lastTransitionTime"))
	}
}

// smartLabel spells a camelCase key out as kubectl does ("dataSource" is
// "Data Source", "uid" is "UID"); acronyms stay whole ("imageUploadURLs" is
// "Image Upload URLs", "nodeIP" is "Node IP"). Keys with characters other
// than letters and '-' print as they are.
func smartLabel(key string) string {
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) >= 0 {
		return key
	}
	parts := splitCamel(key)
	for i, p := range parts {
		switch up := strings.ToUpper(p); up {
		case "API", "URL", "UID", "OSB", "GUID", "IP", "CPU", "URLS":
			if up == "URLS" {
				up = "URLs"
			}
			parts[i] = up
		default:
			r := []rune(p)
			parts[i] = string(unicode.ToUpper(r[0])) + string(r[1:])
		}
	}
	return strings.Join(parts, " ")
}

// splitCamel splits "imageUploadURLs" into image, Upload, URLs and
// "nodeIP" into node, IP: a run of capitals is one word, except that its
// last capital starts the next word when a lower-case letter follows (a
// trailing lower-case "s" stays with the run: URLs).
func splitCamel(s string) []string {
	var parts []string
	rs := []rune(s)
	start := 0
	for i := 1; i < len(rs); i++ {
		prevUp, up := unicode.IsUpper(rs[i-1]), unicode.IsUpper(rs[i])
		nextLow := i+1 < len(rs) && unicode.IsLower(rs[i+1])
		pluralRun := prevUp && rs[i] == 's' && i+1 == len(rs) && i-start > 1
		switch {
		case pluralRun:
		case !prevUp && up, prevUp && up && nextLow && !(rs[i+1] == 's' && i+2 == len(rs)):
			parts = append(parts, string(rs[start:i]))
			start = i
		}
	}
	return append(parts, string(rs[start:]))
}

func without(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
