package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestToObjectFromObjectRoundTrip(t *testing.T) {
	secret := &Secret{TypeMeta: TypeMeta{APIVersion: DavitVersion, Kind: "Secret"},
		Metadata: ObjectMeta{Name: "s", Namespace: "default"}, Type: SecretTypeOpaque,
		Data: map[string]string{"k": "dg=="}}
	vm := decodeOne[*VirtualMachine](t, validVM)
	vm.Default()
	vm.Status.Phase = VMRunning
	vm.Status.Conditions = SetCondition(nil, Condition{Type: "Running", Status: ConditionTrue, Reason: "Running"}, fixedNow)
	for _, r := range []Resource{secret, vm, PredefinedClasses()[2]} {
		o, err := ToObject(r)
		require.NoError(t, err)
		assert.Equal(t, r.GetTypeMeta().Kind, o.Kind)
		back, err := FromObject(o)
		require.NoError(t, err)
		assert.Equal(t, r, back)
	}
	o, err := ToObject(secret)
	require.NoError(t, err)
	assert.Equal(t, "Opaque", o.Type)
	assert.JSONEq(t, `{"k":"dg=="}`, string(o.Data))
	assert.Nil(t, o.Spec)
	assert.Nil(t, o.Status)

	o, err = ToObject(PredefinedClasses()[0])
	require.NoError(t, err)
	assert.JSONEq(t, `{"cpu":{"type":"Host"}}`, string(o.Spec))
	assert.Nil(t, o.Status, "an empty status is left out")
}

func TestFromObjectUnknownKind(t *testing.T) {
	_, err := FromObject(&Object{TypeMeta: TypeMeta{Kind: "Frob"}})
	assert.ErrorContains(t, err, `unknown kind "Frob"`)
	_, err = FromObject(&Object{TypeMeta: TypeMeta{Kind: "vm"}})
	assert.Error(t, err, "only exact kind names")
}
