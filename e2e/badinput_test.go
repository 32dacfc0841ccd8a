package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Details struct {
		Causes []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"causes"`
	} `json:"details"`
}

func put(t *testing.T, a *Agent, path, body string) (int, status, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, a.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st status
	_ = json.Unmarshal(b, &st)
	return resp.StatusCode, st, string(b)
}

func fields(st status) []string {
	var f []string
	for _, c := range st.Details.Causes {
		f = append(f, c.Field)
	}
	return f
}

func TestBadInputOverHTTP(t *testing.T) {
	a := startSingle(t)
	const cls = "/v1/virtualmachineclasses/"

	code, st, body := put(t, a, cls+"x", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},"spec":{"cpu":{"type":"Model","model":"Nehalem","corse":1}}}`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, st.Message, "spec.cpu.corse")

	code, st, body = put(t, a, cls+"x", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},"spec":{"cpu":{"type":"Model","model":5}}}`)
	assert.Equal(t, http.StatusBadRequest, code, body)
	assert.Contains(t, st.Message, "spec.cpu.model")

	// Every violation at once, each with its path.
	code, st, body = put(t, a, cls+"x", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"x"},
	  "spec":{"cpu":{"type":"Model"},"sizingPolicies":[{"cores":{"min":1,"max":10}},{"cores":{"min":3,"max":5}}]}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code, body)
	assert.Equal(t, "Invalid", st.Reason)
	assert.Contains(t, fields(st), "spec.cpu.model")
	assert.GreaterOrEqual(t, len(st.Details.Causes), 2, body)

	code, _, body = put(t, a, cls+"x", `{not json`)
	assert.Equal(t, http.StatusBadRequest, code, body)

	code, _, body = put(t, a, "/v1/frobnicators/x", `{}`)
	assert.Equal(t, http.StatusNotFound, code, body)

	code, _, body = put(t, a, cls+"x", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"other"},"spec":{"cpu":{"type":"Host"}}}`)
	assert.Equal(t, http.StatusBadRequest, code, body)

	// Body over the limit.
	big := `{"apiVersion":"davit/v1","kind":"Secret","metadata":{"name":"big"},"type":"Opaque","data":{"x":"` + strings.Repeat("QUFB", 3<<20) + `"}}`
	code, st, body = put(t, a, "/v1/namespaces/default/secrets/big", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body[:min(len(body), 200)])

	// Stale resourceVersion.
	ok := `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"cas"},"spec":{"cpu":{"type":"Host"}}}`
	code, _, body = put(t, a, cls+"cas", ok)
	require.Equal(t, http.StatusCreated, code, body)
	stale := `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"cas","resourceVersion":"1","labels":{"a":"b"}},"spec":{"cpu":{"type":"Host"}}}`
	code, st, body = put(t, a, cls+"cas", stale)
	assert.Equal(t, http.StatusConflict, code, body)
	assert.Equal(t, "Conflict", st.Reason)
}

func TestMalformedYAMLNamesDocumentAndLine(t *testing.T) {
	a := startSingle(t)
	docs := "apiVersion: virtualization.deckhouse.io/v1alpha2\nkind: VirtualMachineClass\nmetadata:\n  name: ok\nspec:\n  cpu:\n    type: Host\n---\napiVersion: v\nkind: VirtualMachineClass\nmetadata:\n  name: [broken\n"
	_, errOut, code := a.CLI(docs, "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "document 2")
	assert.Contains(t, errOut, "line")
	// Nothing of a file with a broken document is applied.
	_, _, code = a.CLI("", "get", "vmclass", "ok")
	assert.Equal(t, 1, code)

	_, errOut, code = a.CLI("apiVersion: davit/v1\nkind: Frobnicator\nmetadata:\n  name: x\n", "apply", "-f", "-")
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errOut, "Frobnicator")
}

func TestWatchStreamsChanges(t *testing.T) {
	a := startSingle(t)
	resp, err := http.Get(a.URL() + "/v1/virtualmachineclasses?watch=1")
	require.NoError(t, err)
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	// Initial ADDED events (the predefined classes may still be coming).
	body := `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"w1"},"spec":{"cpu":{"type":"Host"}}}`
	code, _, b := put(t, a, "/v1/virtualmachineclasses/w1", body)
	require.Equal(t, http.StatusCreated, code, b)
	req, _ := http.NewRequest(http.MethodDelete, a.URL()+"/v1/virtualmachineclasses/w1", nil)
	dresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	dresp.Body.Close()
	var seen []string
	for len(seen) < 2 {
		var ev struct {
			Type   string `json:"type"`
			Object struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"object"`
		}
		require.NoError(t, dec.Decode(&ev))
		if ev.Object.Metadata.Name == "w1" {
			seen = append(seen, ev.Type)
		}
	}
	assert.Equal(t, []string{"ADDED", "DELETED"}, seen)
}
