package api

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hostClass = "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata:\n  name: ok\nspec:\n  cpu:\n    type: Host\n"

func TestGuideClassesDecodeAndValidate(t *testing.T) {
	b, err := os.ReadFile("testdata/guide-classes.yaml")
	require.NoError(t, err)
	rs, err := Decode(b)
	require.NoError(t, err)
	var names []string
	for _, r := range rs {
		c, ok := r.(*VirtualMachineClass)
		require.True(t, ok)
		c.Default()
		assert.Empty(t, c.Validate(), c.Metadata.Name)
		names = append(names, c.Metadata.Name)
	}
	assert.Equal(t, []string{"universal", "cpuX", "cpuY", "discovery", "features", "ivybridge"}, names)
}

func TestGuideImageDecodesAndValidates(t *testing.T) {
	b, err := os.ReadFile("testdata/guide-images.yaml")
	require.NoError(t, err)
	rs, err := Decode(b)
	require.NoError(t, err)
	require.Len(t, rs, 3)
	for _, r := range rs {
		r.(Defaulter).Default()
		assert.Empty(t, r.(Validator).Validate(), r.GetObjectMeta().Name)
	}
}

func TestDecodeStrictness(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string // substrings of the error
	}{
		{"unknown field", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},"spec":{"cpu":{"type":"Host","corse":1}}}`,
			[]string{"document 1: spec.cpu.corse: unknown field"}},
		{"wrong type", "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachine\nmetadata:\n  name: v\nspec:\n  cpu:\n    cores: \"2\"\n",
			[]string{"spec.cpu.cores: expected integer, got string"}},
		{"all at once", "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachine\nmetadata:\n  name: v\n  labelz: {}\nspec:\n  cpu:\n    cores: 1.5\n  memory:\n    size: lots\n  blockDeviceRefs: {}\n",
			[]string{"metadata.labelz: unknown field", "spec.cpu.cores: expected integer, got number",
				`spec.memory.size: invalid quantity "lots"`, "spec.blockDeviceRefs: expected array, got object"}},
		{"map values", "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachine\nmetadata:\n  name: v\n  labels:\n    a: 1\n",
			[]string{"metadata.labels[a]: expected string, got integer"}},
		{"unknown kind", "apiVersion: davit/v1\nkind: Frobnicator\nmetadata:\n  name: x\n", []string{`unknown kind "Frobnicator"`}},
		{"wrong apiVersion", "apiVersion: davit/v1\nkind: VirtualMachine\nmetadata:\n  name: x\n",
			[]string{"apiVersion", "virtualization.deckhouse.io/v1alpha2"}},
		{"missing kind", "apiVersion: davit/v1\nmetadata:\n  name: x\n", []string{"kind: Required"}},
		{"missing apiVersion", "kind: Node\nmetadata:\n  name: x\n", []string{"apiVersion: Required"}},
		{"apiVersion not a string", "apiVersion: 1\nkind: Node\nmetadata:\n  name: x\n", []string{"apiVersion: expected string, got integer"}},
		{"not an object", "- a\n- b\n", []string{"document 1: expected an object, got array"}},
		{"bad timestamp", "apiVersion: davit/v1\nkind: Node\nmetadata:\n  name: x\n  creationTimestamp: yesterday\n",
			[]string{"metadata.creationTimestamp: invalid timestamp"}},
		{"bad JSON", `{"apiVersion": `, []string{"document 1:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs, err := Decode([]byte(c.in))
			require.Error(t, err)
			assert.Nil(t, rs)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDecodeErrorsAreFieldErrors(t *testing.T) {
	_, err := Decode([]byte("apiVersion: davit/v1\nkind: Node\nmetadata:\n  name: x\nspec:\n  unschedulable: yes please\n  cordon: true\n"))
	var de *DocumentError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, 1, de.Index)
	var fes FieldErrors
	require.ErrorAs(t, err, &fes)
	assert.Equal(t, []string{"spec.cordon", "spec.unschedulable"}, fields(fes))
	assert.Equal(t, ErrUnknownField, fes[0].Type)
	assert.Equal(t, ErrWrongType, fes[1].Type)
}

func TestDecodeMalformedYAMLNamesDocumentAndLine(t *testing.T) {
	in := hostClass + "---\napiVersion: v\nkind: VirtualMachineClass\nmetadata:\n  name: [broken\n"
	_, err := Decode([]byte(in))
	require.Error(t, err)
	var de *DocumentError
	require.True(t, errors.As(err, &de))
	assert.Equal(t, 2, de.Index)
	assert.Equal(t, 12, de.Line)
	assert.True(t, strings.HasPrefix(err.Error(), "document 2: line 12: "), err.Error())
}

func TestDecodeMultiDocument(t *testing.T) {
	in := "# leading comment only\n---\n" + hostClass + "---\n# just a comment\n---   \n\n--- # x\n" +
		strings.Replace(hostClass, "name: ok", "name: two", 1) + "---\n"
	rs, err := Decode([]byte(in))
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.Equal(t, "ok", rs[0].GetObjectMeta().Name)
	assert.Equal(t, "two", rs[1].GetObjectMeta().Name)

	// Documents are numbered by the non-empty ones; every bad one is named.
	bad := "---\n" + hostClass + "---\n" + strings.Replace(hostClass, "Host", "Host\n    x: 1", 1) +
		"---\n" + strings.Replace(hostClass, "cpu:", "cpus:", 1)
	_, err = Decode([]byte(bad))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document 2: spec.cpu.x: unknown field")
	assert.Contains(t, err.Error(), "document 3: spec.cpus: unknown field")
	assert.NotContains(t, err.Error(), "document 1")

	rs, err = Decode([]byte("\n# nothing\n---\n"))
	require.NoError(t, err)
	assert.Empty(t, rs)
}

func TestDecodeListAndJSON(t *testing.T) {
	list := `{"apiVersion":"v1","kind":"List","items":[
	  {"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"a"},"spec":{"cpu":{"type":"Host"}}},
	  {"apiVersion":"davit/v1","kind":"Node","metadata":{"name":"n1"},"status":{"capacity":{"cpu":"4","memory":"8Gi"}}}]}`
	rs, err := Decode([]byte(list))
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.IsType(t, &VirtualMachineClass{}, rs[0])
	n := rs[1].(*Node)
	assert.Equal(t, "4", n.Status.Capacity.CPU.String())
	assert.Equal(t, int64(8<<30), n.Status.Capacity.Memory.Bytes())

	yamlList := "apiVersion: v1\nkind: VirtualMachineClassList\nitems:\n- apiVersion: virtualization.deckhouse.io/v1alpha2\n  kind: VirtualMachineClass\n  metadata: {name: a}\n  spec: {cpu: {type: Host, bad: 1}}\n"
	_, err = Decode([]byte(yamlList))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "document 1: items[0].spec.cpu.bad: unknown field")
}

func TestDecodeV1alpha3Class(t *testing.T) {
	in := `apiVersion: virtualization.deckhouse.io/v1alpha3
kind: VirtualMachineClass
metadata: {name: v3}
spec:
  cpu: {type: Host}
  sizingPolicies:
  - cores: {min: 1, max: 4}
    coreFractions: ["10%", "50%", "100%"]
    defaultCoreFraction: "50%"
`
	c := decodeOne[*VirtualMachineClass](t, in)
	assert.Equal(t, GroupVersion, c.APIVersion)
	assert.Empty(t, c.Validate())
	assert.Equal(t, 50, c.Spec.SizingPolicies[0].DefaultCoreFraction.Percent)
	_, err := Decode([]byte(strings.Replace(in, "VirtualMachineClass", "VirtualMachine", 1)))
	assert.ErrorContains(t, err, "apiVersion")
}

func TestDecodeObject(t *testing.T) {
	k, ok := LookupKind("vmclass")
	require.True(t, ok)
	r, err := DecodeObject([]byte(`{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},"spec":{"cpu":{"type":"Host"}}}`), k)
	require.NoError(t, err)
	assert.Equal(t, "x", r.GetObjectMeta().Name)

	_, err = DecodeObject([]byte(`{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},"spec":{"cpu":{"type":"Model","model":5,"corse":1}}}`), k)
	var fes FieldErrors
	require.ErrorAs(t, err, &fes)
	assert.Equal(t, []string{"spec.cpu.corse", "spec.cpu.model"}, fields(fes))

	_, err = DecodeObject([]byte(`{"apiVersion":"davit/v1","kind":"Node","metadata":{"name":"x"}}`), k)
	require.ErrorAs(t, err, &fes)
	assert.Equal(t, []string{"kind"}, fields(fes))

	_, err = DecodeObject([]byte(`{"apiVersion":"virtualization.deckhouse.io/v1alpha2","metadata":{"name":"x"}}`), k)
	require.ErrorAs(t, err, &fes)
	assert.Equal(t, []string{"kind"}, fields(fes))

	for _, bad := range []string{`{not json`, `[1]`, `{"a":1} {"b":2}`, ``} {
		_, err = DecodeObject([]byte(bad), k)
		assert.Error(t, err, bad)
	}
	_, err = DecodeObject([]byte(`{}`), nil)
	assert.Error(t, err)
}

func TestDecodeRoundTripsSpecAsWritten(t *testing.T) {
	b, err := os.ReadFile("testdata/guide-classes.yaml")
	require.NoError(t, err)
	rs, err := Decode(b)
	require.NoError(t, err)
	for _, r := range rs {
		o, err := ToObject(r)
		require.NoError(t, err)
		back, err := Decode(mustJSON(t, o))
		require.NoError(t, err)
		assert.Equal(t, r, back[0])
	}
}
