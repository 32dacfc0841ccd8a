package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"davit/api"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memBackend is an in-memory Backend with the store's semantics for the
// cases these tests use (create, update, preconditions, delete).
type memBackend struct {
	mu    sync.Mutex
	index uint64
	objs  map[string]*api.Object
}

func newMem() *memBackend { return &memBackend{objs: map[string]*api.Object{}} }

func key(kind, ns, name string) string { return kind + "/" + ns + "/" + name }

func (m *memBackend) Get(kind, ns, name string) (*api.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key(kind, ns, name)]
	if !ok {
		return nil, ErrNotFound
	}
	return o.DeepCopy(), nil
}

func (m *memBackend) List(kind, ns string) ([]*api.Object, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*api.Object
	for _, o := range m.objs {
		if o.Kind == kind && (ns == "" || o.Metadata.Namespace == ns) {
			out = append(out, o.DeepCopy())
		}
	}
	return out, m.index
}

func (m *memBackend) Watch(context.Context, string, string, string, uint64) (<-chan Event, error) {
	ch := make(chan Event)
	close(ch)
	return ch, nil
}

func (m *memBackend) Put(_ context.Context, obj *api.Object, create bool, pre uint64) (*api.Object, Outcome, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := key(obj.Kind, obj.Metadata.Namespace, obj.Metadata.Name)
	cur, exists := m.objs[k]
	switch {
	case create && exists:
		return nil, "", ErrAlreadyExists
	case pre != 0 && (!exists || cur.Metadata.RV() != pre):
		return nil, "", fmt.Errorf("%w: stale", ErrConflict)
	}
	m.index++
	obj = obj.DeepCopy()
	obj.Metadata.SetRV(m.index)
	m.objs[k] = obj
	if exists {
		return obj, Configured, nil
	}
	return obj, Created, nil
}

func (m *memBackend) Delete(_ context.Context, kind, ns, name string) (*api.Object, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objs[key(kind, ns, name)]
	if !ok {
		return nil, ErrNotFound
	}
	delete(m.objs, key(kind, ns, name))
	return o, nil
}

func (m *memBackend) ConsistentRead(context.Context) error { return nil }

type fakeAgent struct{}

func (fakeAgent) Status() any  { return map[string]string{"nodeName": "n"} }
func (fakeAgent) Ready() error { return nil }

func newServer(t testing.TB) *httptest.Server {
	cfg := DefaultConfig()
	cfg.MaxBodyBytes = 1 << 16
	cfg.Logger = slog.New(slog.DiscardHandler)
	s := New(cfg, newMem(), fakeAgent{}, nil, prometheus.NewRegistry())
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func do(t testing.TB, srv *httptest.Server, method, path, body string) (int, string) {
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const class = `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachineClass","metadata":{"name":"c1"},"spec":{"cpu":{"type":"Host"}}}`

func TestCRUDAndErrors(t *testing.T) {
	srv := newServer(t)
	code, body := do(t, srv, http.MethodPut, "/v1/virtualmachineclasses/c1", class)
	require.Equal(t, http.StatusCreated, code, body)
	code, _ = do(t, srv, http.MethodGet, "/v1/vmclass/c1", "")
	assert.Equal(t, http.StatusOK, code, "short names resolve in URLs too")
	code, body = do(t, srv, http.MethodGet, "/v1/virtualmachineclasses?labelSelector=a%20in%20(", "")
	assert.Equal(t, http.StatusBadRequest, code, body)
	code, _ = do(t, srv, http.MethodPost, "/v1/virtualmachineclasses/c1", class)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	code, _ = do(t, srv, http.MethodGet, "/v1/namespaces/x/virtualmachineclasses/c1", "")
	assert.Equal(t, http.StatusBadRequest, code, "cluster-scoped kind under a namespace")
	code, _ = do(t, srv, http.MethodGet, "/v1/virtualmachines/vm1", "")
	assert.Equal(t, http.StatusBadRequest, code, "namespaced kind without a namespace")
	code, body = do(t, srv, http.MethodPut, "/v1/virtualmachineclasses/c1", strings.Repeat("x", 1<<17))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code, body[:min(100, len(body))])
	code, _ = do(t, srv, http.MethodDelete, "/v1/virtualmachineclasses/c1", "")
	assert.Equal(t, http.StatusOK, code)
	code, _ = do(t, srv, http.MethodDelete, "/v1/virtualmachineclasses/c1", "")
	assert.Equal(t, http.StatusNotFound, code)
}

// FuzzPut: nothing a client sends produces a 5xx or a panic.
func FuzzPut(f *testing.F) {
	f.Add("virtualmachineclasses", "", "c1", class)
	f.Add("virtualmachines", "default", "vm1", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"VirtualMachine","metadata":{"name":"vm1"},"spec":{"cpu":{"cores":1},"memory":{"size":"1Gi"},"blockDeviceRefs":[{"kind":"VirtualDisk","name":"d"}]}}`)
	f.Add("clustervirtualimages", "", "img", `{"apiVersion":"virtualization.deckhouse.io/v1alpha2","kind":"ClusterVirtualImage","metadata":{"name":"img"},"spec":{"dataSource":{"type":"HTTP","http":{"url":"http://x/y"}}}}`)
	f.Add("nodes", "", "n", `{"kind":"Node","apiVersion":"davit/v1","metadata":{"name":"n","resourceVersion":"x"}}`)
	f.Add("secrets", "default", "s", `apiVersion: davit/v1
kind: Secret
metadata: {name: s}
data: {a: "!!"}`)
	f.Add("virtualmachineoperations", "ns", "op", `{"kind":"List","items":[1,2]}`)
	srv := newServer(f)
	f.Fuzz(func(t *testing.T, plural, ns, name, body string) {
		path := "/v1/" + urlSafe(plural) + "/" + urlSafe(name)
		if ns != "" {
			path = "/v1/namespaces/" + urlSafe(ns) + "/" + urlSafe(plural) + "/" + urlSafe(name)
		}
		code, resp := do(t, srv, http.MethodPut, path, body)
		if code >= 500 {
			t.Fatalf("PUT %s -> %d: %s", path, code, resp)
		}
	})
}

// urlSafe keeps a fuzzed path segment a single, valid segment.
func urlSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}
