package jsonpath

import (
	"bytes"
	"testing"
)

// FuzzTemplate checks that no template, however malformed, panics the
// parser or the evaluator. Seeds live in testdata/fuzz/FuzzTemplate.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		`{.items[*].metadata.name}`,
		`{range .items[*]}{.metadata.name}{"\n"}{end}`,
		`{.status.conditions[?(@.type=="InUse")].status}`,
	} {
		f.Add(s)
	}
	data := decode(f, doc)
	f.Fuzz(func(t *testing.T, tmpl string) {
		tp, err := Parse("fuzz", tmpl)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		_ = tp.Execute(&buf, data)
		_, _ = tp.AllowMissingKeys(true).FindResults(data)
	})
}
