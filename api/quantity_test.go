package api

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseQuantity(t *testing.T) {
	for in, want := range map[string]int64{
		"512Mi": 512 << 20, "1Gi": 1 << 30, "1.5Gi": 3 << 29, "1G": 1e9, "1000": 1000,
		"1e3": 1000, "1k": 1000, "2Ki": 2048, "0": 0, ".5Ki": 512, "1500m": 2, "+1Ti": 1 << 40,
	} {
		q, err := ParseQuantity(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, q.Bytes(), in)
		assert.Equal(t, in, q.String())
	}
	for _, in := range []string{"", "abc", "1GB", "-1Gi", "1 Gi", "Gi", "1.2.3", "9999999Ei", "1e999"} {
		_, err := ParseQuantity(in)
		assert.Error(t, err, in)
	}
}

func TestQuantityJSON(t *testing.T) {
	var v struct {
		A Quantity  `json:"a"`
		B *Quantity `json:"b,omitempty"`
		C Quantity  `json:"c,omitzero"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"a":"1.5Gi","b":1024}`), &v))
	assert.Equal(t, int64(3<<29), v.A.Bytes())
	assert.Equal(t, int64(1024), v.B.Bytes())
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":"1.5Gi","b":"1024"}`, string(b))
	assert.Error(t, json.Unmarshal([]byte(`{"a":"lots"}`), &v))
	assert.Error(t, json.Unmarshal([]byte(`{"a":true}`), &v))
}

func TestQuantityCompareAndNew(t *testing.T) {
	assert.Equal(t, 0, MustParseQuantity("1Gi").Cmp(MustParseQuantity("1024Mi")))
	assert.Equal(t, -1, MustParseQuantity("1G").Cmp(MustParseQuantity("1Gi")))
	assert.Equal(t, 1, MustParseQuantity("2Gi").Cmp(MustParseQuantity("1Gi")))
	assert.Equal(t, "1Gi", NewQuantity(1<<30).String())
	assert.Equal(t, "1536Mi", NewQuantity(1536<<20).String())
	assert.Equal(t, "1000", NewQuantity(1000).String())
	assert.Equal(t, "0", NewQuantity(0).String())
	assert.Panics(t, func() { MustParseQuantity("x") })
}

func TestCoreFractionForms(t *testing.T) {
	var fs []CoreFraction
	require.NoError(t, json.Unmarshal([]byte(`[5, "10%", "Auto"]`), &fs))
	assert.Equal(t, 5, fs[0].Percent)
	assert.Equal(t, 10, fs[1].Percent)
	assert.True(t, fs[2].Auto)
	b, err := json.Marshal(fs)
	require.NoError(t, err)
	assert.JSONEq(t, `[5, "10%", "Auto"]`, string(b), "each keeps its form")
	assert.Equal(t, "5%", fs[0].String())
	f, ok := ParseFraction("25%")
	assert.True(t, ok)
	assert.Equal(t, 25, f.Percent)
	_, ok = ParseFraction("0%")
	assert.False(t, ok)
	assert.Error(t, json.Unmarshal([]byte(`[1.5]`), &fs))
}

func TestIntOrString(t *testing.T) {
	var v []IntOrString
	require.NoError(t, json.Unmarshal([]byte(`[2, "4"]`), &v))
	assert.Equal(t, "2", v[0].String())
	assert.Equal(t, "4", v[1].String())
	b, err := json.Marshal(v)
	require.NoError(t, err)
	assert.JSONEq(t, `[2, "4"]`, string(b))
}
