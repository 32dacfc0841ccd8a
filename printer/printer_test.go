package printer

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// now is the fixed clock of every golden file.
var now = time.Date(2024, 5, 10, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./printer -update")
	assert.Equal(t, string(want), got, "output differs from %s (go test ./printer -update rewrites it)", path)
}

func fixtures(t *testing.T) []*api.Object {
	t.Helper()
	b, err := os.ReadFile("testdata/objects.json")
	require.NoError(t, err)
	var objs []*api.Object
	require.NoError(t, json.Unmarshal(b, &objs))
	return objs
}

func ofKind(objs []*api.Object, kind string) []*api.Object {
	var out []*api.Object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func table(t *testing.T, kind *api.Kind, objs []*api.Object, opts TableOptions) string {
	t.Helper()
	opts.Now = clock
	var buf bytes.Buffer
	tp, err := NewTable(&buf, kind, opts)
	require.NoError(t, err)
	require.NoError(t, tp.Print(objs...))
	return buf.String()
}

func TestTables(t *testing.T) {
	objs := fixtures(t)
	for _, k := range api.Kinds() {
		t.Run(k.Plural, func(t *testing.T) {
			of := ofKind(objs, k.Kind)
			require.NotEmpty(t, of, "add a %s to testdata/objects.json", k.Kind)
			golden(t, "table_"+k.Plural, table(t, k, of, TableOptions{}))
			golden(t, "wide_"+k.Plural, table(t, k, of, TableOptions{Wide: true}))
			if k.Namespaced {
				golden(t, "allns_"+k.Plural, table(t, k, of, TableOptions{AllNamespaces: true}))
			}
		})
	}
}

func TestTableOptions(t *testing.T) {
	objs := fixtures(t)
	vm, _ := api.LookupKind("vm")
	node, _ := api.LookupKind("node")
	golden(t, "noheaders_virtualmachines", table(t, vm, ofKind(objs, "VirtualMachine"), TableOptions{NoHeaders: true}))
	golden(t, "withkind_nodes", table(t, node, ofKind(objs, "Node"), TableOptions{WithKind: true, Wide: true}))
	// -A on a cluster-scoped kind adds no NAMESPACE column.
	assert.Equal(t, table(t, node, ofKind(objs, "Node"), TableOptions{}),
		table(t, node, ofKind(objs, "Node"), TableOptions{AllNamespaces: true}))
}

// TestWatchRows replays the guide's `davit get cvi ubuntu-22.04 -w`: the
// header once, then one row per event, aligned with the first.
func TestWatchRows(t *testing.T) {
	cvi, _ := api.LookupKind("cvi")
	var buf bytes.Buffer
	created := now.Add(-4 * time.Second)
	tick := created
	tp, err := NewTable(&buf, cvi, TableOptions{Now: func() time.Time { return tick.Add(4 * time.Second) }})
	require.NoError(t, err)
	for _, step := range []struct {
		phase, progress string
		after           time.Duration
	}{
		{"Provisioning", "", 0}, {"Provisioning", "0.0%", 0}, {"Provisioning", "28.2%", 2 * time.Second},
		{"Provisioning", "66.5%", 4 * time.Second}, {"Provisioning", "100.0%", 6 * time.Second},
		{"Ready", "100%", 14 * time.Second},
	} {
		tick = created.Add(step.after)
		status, err := json.Marshal(map[string]any{"phase": step.phase, "progress": step.progress, "cdrom": false})
		require.NoError(t, err)
		obj := &api.Object{TypeMeta: api.TypeMeta{Kind: "ClusterVirtualImage"},
			Metadata: api.ObjectMeta{Name: "ubuntu-22.04", CreationTimestamp: api.NewTime(created)}, Status: status}
		if step.progress == "" {
			obj.Status = json.RawMessage(`{"phase":"Provisioning","cdrom":false}`)
		}
		require.NoError(t, tp.Print(obj))
	}
	golden(t, "watch_clustervirtualimages", buf.String())
}

func TestDescribe(t *testing.T) {
	objs := fixtures(t)
	for _, tc := range []struct{ kind, name string }{
		{"ClusterVirtualImage", "ubuntu-22.04"}, {"ClusterVirtualImage", "cirros"},
		{"VirtualMachineClass", "generic"}, {"VirtualMachine", "linux-vm"}, {"Node", "node-1"},
		{"Secret", "registry-creds"}, {"VirtualDisk", "blank"},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			var obj *api.Object
			for _, o := range ofKind(objs, tc.kind) {
				if o.Metadata.Name == tc.name {
					obj = o
				}
			}
			require.NotNil(t, obj)
			var buf bytes.Buffer
			require.NoError(t, Describe(&buf, obj))
			golden(t, "describe_"+strings.ToLower(tc.kind)+"_"+tc.name, buf.String())
			assert.NotContains(t, buf.String(), "eyJhdXRocyI6e319", "secret values never print")
		})
	}
}

func TestFormats(t *testing.T) {
	objs := fixtures(t)
	vms := ofKind(objs, "VirtualMachine")
	cvis := ofKind(objs, "ClusterVirtualImage")
	for _, tc := range []struct {
		name, format string
		objs         []*api.Object
		single       bool
	}{
		{"json_object", "json", cvis[:1], true},
		{"json_list", "json", vms, false},
		{"yaml_object", "yaml", cvis[:1], true},
		{"yaml_list", "yaml", vms, false},
		{"name_list", "name", append(vms, cvis...), false},
		{"jsonpath_upload_urls", `jsonpath={.status.imageUploadURLs}`, cvis[1:2], true},
		{"jsonpath_range", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}`, vms, false},
		{"jsonpath_quoted", `jsonpath='{.items[*].metadata.name}'`, vms, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFormat(tc.format)
			require.NoError(t, err)
			var buf bytes.Buffer
			p := NewPrinter(&buf, f)
			if tc.single {
				require.NoError(t, p.PrintObject(tc.objs[0]))
			} else {
				require.NoError(t, p.PrintList(tc.objs))
			}
			golden(t, "format_"+tc.name, buf.String())
		})
	}
}

func TestYAMLStreamSeparators(t *testing.T) {
	objs := ofKind(fixtures(t), "VirtualMachineClass")
	var buf bytes.Buffer
	p := NewPrinter(&buf, Format{Type: YAML})
	for _, o := range objs {
		require.NoError(t, p.PrintObject(o))
	}
	assert.Equal(t, len(objs)-1, strings.Count(buf.String(), "---\n"))
	assert.False(t, strings.HasPrefix(buf.String(), "---"))
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"", "wide", "json", "yaml", "name", "jsonpath={.a}", `jsonpath="{.a}"`} {
		_, err := ParseFormat(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{"xml", "jsonpath=", "jsonpath={.a", "custom-columns=A:.a"} {
		_, err := ParseFormat(bad)
		assert.Error(t, err, bad)
	}
	f, _ := ParseFormat("wide")
	assert.True(t, f.IsTable())
}

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-3 * time.Second:                "<invalid>",
		-1500 * time.Millisecond:        "0s",
		0:                               "0s",
		95 * time.Second:                "95s",
		119 * time.Second:               "119s",
		2 * time.Minute:                 "2m",
		7*time.Minute + 30*time.Second:  "7m30s",
		10*time.Minute + 30*time.Second: "10m",
		79 * time.Minute:                "79m",
		179 * time.Minute:               "179m",
		3 * time.Hour:                   "3h",
		5*time.Hour + 3*time.Minute:     "5h3m",
		8 * time.Hour:                   "8h",
		23 * time.Hour:                  "23h",
		47*time.Hour + 59*time.Minute:   "47h",
		48 * time.Hour:                  "2d",
		6*24*time.Hour + time.Hour:      "6d1h",
		8 * 24 * time.Hour:              "8d",
		49 * 24 * time.Hour:             "49d",
		729 * 24 * time.Hour:            "729d",
		730 * 24 * time.Hour:            "2y",
		(2*365 + 10) * 24 * time.Hour:   "2y10d",
		8 * 365 * 24 * time.Hour:        "8y",
		(9*365 + 100) * 24 * time.Hour:  "9y",
	} {
		assert.Equal(t, want, HumanDuration(d), d.String())
	}
}

func TestSmartLabel(t *testing.T) {
	for in, want := range map[string]string{
		"dataSource": "Data Source", "uid": "UID", "apiVersion": "API Version", "imageUploadURLs": "Image Upload URLs",
		"nodeIP": "Node IP", "IPAddress": "IP Address", "cdrom": "Cdrom", "registryURL": "Registry URL",
		"storedBytes": "Stored Bytes", "md5": "md5", "node-role": "Node-role", "a.b": "a.b",
	} {
		assert.Equal(t, want, smartLabel(in), in)
	}
}
