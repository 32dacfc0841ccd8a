package jsonpath

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const doc = `{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"kind": "VirtualDisk",
     "metadata": {"name": "disk-a", "namespace": "default",
       "labels": {"app": "web"},
       "annotations": {"virtualmachineclass.virtualization.deckhouse.io/is-default-class": "true"}},
     "status": {"phase": "Ready", "capacity": "10Gi", "size": 10,
       "conditions": [{"type": "Ready", "status": "True"}, {"type": "InUse", "status": "False"}],
       "attachedToVirtualMachines": [{"name": "vm-old", "mounted": false}, {"name": "vm-1", "mounted": true}],
       "imageUploadURLs": {"external": "https://up.example/x?a=1&b=2", "inCluster": "http://10.0.0.1/upload"}}},
    {"kind": "VirtualDisk",
     "metadata": {"name": "disk-b", "namespace": "prod"},
     "status": {"phase": "Pending", "size": 2.5, "conditions": [{"type": "Ready", "status": "False"}]}}
  ]
}`

func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

func run(t *testing.T, tmpl string, data any, allowMissing bool) (string, error) {
	t.Helper()
	tp, err := Parse("test", tmpl)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = tp.AllowMissingKeys(allowMissing).Execute(&buf, data)
	return buf.String(), err
}

func TestExecute(t *testing.T) {
	data := decode(t, doc)
	item := data.(map[string]any)["items"].([]any)[0]
	tests := []struct {
		name, tmpl string
		data       any
		want       string
	}{
		{"field", "{.kind}", data, "List"},
		{"text around", "kind={.kind}!", data, "kind=List!"},
		{"no braces is text", "plain text", data, "plain text"},
		{"quoted newline", `{.kind}{"\n"}`, data, "List\n"},
		{"single quoted", `{'a\'b'}`, data, "a'b"},
		{"wildcard list", "{.items[*].metadata.name}", data, "disk-a disk-b"},
		{"dot wildcard map", "{.items[0].metadata.labels.*}", data, "web"},
		{"index", "{.items[0].metadata.name}", data, "disk-a"},
		{"negative index", "{.items[-1].metadata.name}", data, "disk-b"},
		{"slice", "{.items[0:1].metadata.name}", data, "disk-a"},
		{"open slice", "{.items[1:].metadata.name}", data, "disk-b"},
		{"slice stride", "{.items[::2].metadata.name}", data, "disk-a"},
		{"slice clamps", "{.items[0:99].metadata.name}", data, "disk-a disk-b"},
		{"range", `{range .items[*]}{.metadata.name}{"\n"}{end}`, data, "disk-a\ndisk-b\n"},
		{"nested range", `{range .items[*]}{.metadata.name}:{range .status.conditions[*]}{.type},{end};{end}`, data,
			"disk-a:Ready,InUse,;disk-b:Ready,;"},
		{"filter string", `{.status.conditions[?(@.type=="InUse")].status}`, item, "False"},
		{"filter single quotes", `{.status.conditions[?(@.type=='Ready')].status}`, item, "True"},
		{"filter bool", `{.status.attachedToVirtualMachines[?(@.mounted==true)].name}`, item, "vm-1"},
		{"filter not equal", `{.status.attachedToVirtualMachines[?(@.mounted!=true)].name}`, item, "vm-old"},
		{"filter number", `{.items[?(@.status.size>5)].metadata.name}`, data, "disk-a"},
		{"filter float", `{.items[?(@.status.size<=2.5)].metadata.name}`, data, "disk-b"},
		{"filter exists", `{.items[?(@.metadata.labels)].metadata.name}`, data, "disk-a"},
		{"filter missing field skips", `{.items[?(@.metadata.labels.app=="web")].metadata.name}`, data, "disk-a"},
		{"escaped dots", `{.metadata.annotations.virtualmachineclass\.virtualization\.deckhouse\.io/is-default-class}`, item, "true"},
		{"bracket key with dots", `{.metadata.annotations['virtualmachineclass.virtualization.deckhouse.io/is-default-class']}`, item, "true"},
		{"map as compact json", "{.status.imageUploadURLs}", item,
			`{"external":"https://up.example/x?a=1&b=2","inCluster":"http://10.0.0.1/upload"}`},
		{"list as compact json", "{.metadata.labels}{.status.conditions[0]}", item, `{"app":"web"}{"status":"True","type":"Ready"}`},
		{"number", "{.items[*].status.size}", data, "10 2.5"},
		{"union indexes", "{.items[0,1].metadata.name}", data, "disk-a disk-b"},
		{"union keys", "{.metadata['name','namespace']}", item, "disk-a default"},
		{"recursive", "{..phase}", data, "Ready Pending"},
		{"current", "{@.kind}", data, "List"},
		{"root dollar", "{$.kind}", data, "List"},
		{"whole value", "{.metadata.labels}", item, `{"app":"web"}`},
		{"literal per result", `{.items[*].metadata.name}`, data, "disk-a disk-b"},
		{"typed input", "{.a}", struct {
			A []int `json:"a"`
		}{[]int{1, 2}}, "[1,2]"},
		{"null", "{.a}", map[string]any{"a": nil}, "null"},
		{"bool", "{.a}", map[string]any{"a": false}, "false"},
		{"float64", "{.a}", map[string]any{"a": 1.5}, "1.5"},
		{"empty", "", data, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, tt.tmpl, tt.data, false)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMissing(t *testing.T) {
	data := decode(t, doc)
	for _, tmpl := range []string{"{.nope}", "{.items[5]}", "{.items[*].status.capacity.x}"} {
		t.Run(tmpl, func(t *testing.T) {
			_, err := run(t, tmpl, data, false)
			assert.Error(t, err)
			got, err := run(t, "a"+tmpl+"b", data, true)
			require.NoError(t, err)
			assert.Equal(t, "ab", got)
		})
	}
	got, err := run(t, "{.items[*].status.capacity}", data, true)
	require.NoError(t, err)
	assert.Equal(t, "10Gi", got)
}

func TestEvalErrors(t *testing.T) {
	data := decode(t, doc)
	for _, tmpl := range []string{
		"{.kind[0]}",      // not an array
		"{.kind[?(@.a)]}", // not an array
		"{.items[?(@.status.conditions[*].type==\"Ready\")]}", // several values compared
	} {
		t.Run(tmpl, func(t *testing.T) {
			var buf bytes.Buffer
			tp, err := Parse("t", tmpl)
			require.NoError(t, err)
			err = tp.Execute(&buf, data)
			assert.Error(t, err)
			assert.Empty(t, buf.String(), "nothing is written on error")
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tmpl := range []string{
		"{.a", "{.a[}", "{.a[0}", "{.a[x]}", "{.a[1:2:3:4]}", "{.a[::0]}", "{.a[?(@.b=1)]}",
		"{range .a}", "{end}", "{.a}{end}", `{"abc}`, `{.a[?(@.b=="x"]}`, "{foo}", "{.a\\",
		"{.a[]}", "{.a[?@.b]}", "{end x}", "{#}", `{'\q'}`, "{1e}",
	} {
		t.Run(tmpl, func(t *testing.T) {
			_, err := Parse("t", tmpl)
			assert.Error(t, err)
		})
	}
}

func TestRelaxed(t *testing.T) {
	for in, want := range map[string]string{
		".status.phase":     "{.status.phase}",
		"status.phase":      "{.status.phase}",
		"{.status.phase}":   "{.status.phase}",
		"{status.phase}":    "{.status.phase}",
		`.a[?(@.x=="y")].b`: `{.a[?(@.x=="y")].b}`,
		"":                  "",
	} {
		got, err := Relaxed(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	_, err := Relaxed("{a}{b}")
	assert.Error(t, err)

	tp, err := ParsePath(".status.conditions[?(@.type==\"Ready\")].status")
	require.NoError(t, err)
	res, err := tp.FindResults(decode(t, `{"status":{"conditions":[{"type":"Ready","status":"True"}]}}`))
	require.NoError(t, err)
	assert.Equal(t, [][]any{{"True"}}, res)
}

func TestFindResultsRange(t *testing.T) {
	tp, err := Parse("t", `{range .items[*]}{.metadata.name}{"\n"}{end}`)
	require.NoError(t, err)
	res, err := tp.FindResults(decode(t, doc))
	require.NoError(t, err)
	assert.Equal(t, [][]any{{"disk-a"}, {"\n"}, {"disk-b"}, {"\n"}}, res)
}

func TestResultLimit(t *testing.T) {
	_, err := run(t, "{........................................}", decode(t, doc), true)
	assert.ErrorContains(t, err, "more than")
}
