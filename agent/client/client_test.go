package client_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"davit/agent/client"
	"davit/agent/client/clienttest"
	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func kind(t *testing.T, name string) *api.Kind {
	t.Helper()
	k, ok := api.LookupKind(name)
	require.True(t, ok, name)
	return k
}

func vm(ns, name string, labels map[string]string) *api.Object {
	return &api.Object{TypeMeta: api.TypeMeta{APIVersion: api.GroupVersion, Kind: "VirtualMachine"},
		Metadata: api.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
		Spec:     json.RawMessage(`{"virtualMachineClassName":"generic"}`)}
}

func setup(t *testing.T) (*clienttest.Server, *client.Client) {
	t.Helper()
	srv := clienttest.NewServer(t)
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	return srv, c
}

func TestNew(t *testing.T) {
	for in, want := range map[string]string{
		"":                        client.DefaultAddr,
		"10.0.0.1:9640":           "http://10.0.0.1:9640",
		"http://node-1:9640/":     "http://node-1:9640",
		"https://davit.example:1": "https://davit.example:1",
	} {
		c, err := client.New(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, c.BaseURL(), in)
	}
	for _, bad := range []string{"ftp://x", "http://", "http://[::1"} {
		_, err := client.New(bad)
		assert.Error(t, err, bad)
	}
}

func TestPath(t *testing.T) {
	assert.Equal(t, "/v1/clustervirtualimages/ubuntu-22.04", client.Path(kind(t, "cvi"), "", "ubuntu-22.04"))
	assert.Equal(t, "/v1/namespaces/prod/virtualmachines/a%2Fb", client.Path(kind(t, "vm"), "prod", "a/b"))
	assert.Equal(t, "/v1/virtualmachines", client.Path(kind(t, "vm"), "", ""))
}

func TestPutGetListDelete(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	vmk := kind(t, "vm")

	stored, res, err := c.Put(ctx, vm("default", "a", map[string]string{"app": "web"}))
	require.NoError(t, err)
	assert.Equal(t, client.Created, res)
	assert.Equal(t, "1", stored.Metadata.ResourceVersion)

	_, res, err = c.Put(ctx, vm("default", "a", map[string]string{"app": "web"}))
	require.NoError(t, err)
	assert.Equal(t, client.Unchanged, res)

	_, res, err = c.Put(ctx, vm("default", "a", map[string]string{"app": "db"}))
	require.NoError(t, err)
	assert.Equal(t, client.Configured, res)
	_, _, err = c.Put(ctx, vm("prod", "b", nil))
	require.NoError(t, err)

	got, err := c.Get(ctx, vmk, "default", "a")
	require.NoError(t, err)
	assert.Equal(t, "db", got.Metadata.Labels["app"])

	l, err := c.List(ctx, vmk, "default", "", false)
	require.NoError(t, err)
	assert.Len(t, l.Items, 1)
	assert.Equal(t, "3", l.Metadata.ResourceVersion)
	l, err = c.List(ctx, vmk, "default", "", true)
	require.NoError(t, err)
	assert.Len(t, l.Items, 2)
	l, err = c.List(ctx, vmk, "", "app=web", true)
	require.NoError(t, err)
	assert.Empty(t, l.Items)
	assert.Contains(t, srv.Requests(), "GET /v1/virtualmachines?labelSelector=app%3Dweb")

	deleted, err := c.Delete(ctx, vmk, "default", "a")
	require.NoError(t, err)
	assert.Equal(t, "a", deleted.Metadata.Name)
	_, err = c.Get(ctx, vmk, "default", "a")
	assert.True(t, client.IsNotFound(err), "%v", err)
	_, err = c.Delete(ctx, vmk, "default", "a")
	assert.True(t, client.IsNotFound(err), "%v", err)
	assert.EqualError(t, err, `virtualmachines "a" not found`)
}

func TestPutPreconditions(t *testing.T) {
	_, c := setup(t)
	ctx := context.Background()
	_, _, err := c.Put(ctx, vm("", "a", nil))
	assert.ErrorContains(t, err, "namespace is required")
	o := vm("default", "a", nil)
	o.Kind = "Pod"
	_, _, err = c.Put(ctx, o)
	assert.ErrorContains(t, err, `unknown kind "Pod"`)
	o = vm("default", "a", nil)
	o.Metadata.ResourceVersion = "7"
	_, _, err = c.Put(ctx, o)
	assert.True(t, client.IsConflict(err), "%v", err)
}

func TestInvalidError(t *testing.T) {
	srv, c := setup(t)
	causes := []api.FieldError{
		{Type: api.ErrRequired, Field: "spec.virtualMachineClassName", Detail: "a class is required"},
		{Type: api.ErrInvalid, Field: "spec.cpu.cores", Detail: "must be at least 1", Value: "0"},
	}
	srv.Fail(http.MethodPut, "/v1/namespaces/default/virtualmachines/a", clienttest.Status{Code: 422, Reason: "Invalid",
		Message: `VirtualMachine "a" is invalid: ` + api.FieldErrors(causes).Error(),
		Details: &clienttest.StatusDetails{Kind: "VirtualMachine", Name: "a", Causes: causes}})
	_, _, err := c.Put(context.Background(), vm("default", "a", nil))
	require.Error(t, err)
	assert.True(t, client.IsInvalid(err))
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 422, apiErr.Code)
	assert.Equal(t, "VirtualMachine", apiErr.Kind)
	assert.Equal(t, causes, apiErr.Causes)
	assert.Equal(t, `VirtualMachine "a" is invalid:
* spec.virtualMachineClassName: Required: a class is required
* spec.cpu.cores: Invalid: "0": must be at least 1`, err.Error())
}

func TestNonStatusError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := client.New(srv.URL)
	require.NoError(t, err)
	_, err = c.Status(context.Background())
	var apiErr *client.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 502, apiErr.Code)
	assert.Equal(t, "HTTP502", apiErr.Reason)
	assert.Equal(t, "<html>bad gateway</html>", apiErr.Message)

	srv503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv503.Close()
	c, err = client.New(srv503.URL)
	require.NoError(t, err)
	_, err = c.Status(context.Background())
	assert.True(t, client.IsUnavailable(err))
	assert.EqualError(t, err, "Service Unavailable")
}

func TestStatus(t *testing.T) {
	srv, c := setup(t)
	srv.SetStatus("ebpf", map[string]any{"state": "unsupported"})
	st, err := c.Status(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "node-1", st.NodeName)
	assert.Equal(t, "Leader", st.RaftState)
	assert.Equal(t, uint64(2), st.Term)
	assert.Equal(t, "v0.0.0-test", st.Version)
	assert.Len(t, st.Peers, 1)
	assert.Equal(t, map[string]any{"state": "unsupported"}, st.Fields["ebpf"])
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	c, err := client.New(addr)
	require.NoError(t, err)
	_, err = c.Status(context.Background())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "GET "+addr+"/v1/status: "), err.Error())
	assert.Empty(t, client.ReasonOf(err))
}

// next reads one event or fails after a while.
func next(t *testing.T, ch <-chan client.Event) client.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		require.True(t, ok, "watch channel closed")
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	return client.Event{}
}

func TestWatch(t *testing.T) {
	srv, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Put(vm("default", "a", nil), vm("prod", "b", nil))

	ch, err := c.Watch(ctx, kind(t, "vm"), "", "", "", "")
	require.NoError(t, err)
	assert.Equal(t, client.Added, next(t, ch).Type)
	assert.Equal(t, client.Added, next(t, ch).Type)

	srv.Put(vm("default", "a", map[string]string{"x": "y"}))
	ev := next(t, ch)
	assert.Equal(t, client.Modified, ev.Type)
	assert.Equal(t, "y", ev.Object.Metadata.Labels["x"])
	srv.Remove("VirtualMachine", "prod", "b")
	ev = next(t, ch)
	assert.Equal(t, client.Deleted, ev.Type)
	assert.Equal(t, "b", ev.Object.Metadata.Name)

	cancel()
	for range ch { // the channel closes once ctx ends
	}
}

func TestWatchNamedFromVersion(t *testing.T) {
	srv, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Put(vm("default", "a", nil), vm("default", "b", nil)) // versions 1, 2
	ch, err := c.Watch(ctx, kind(t, "vm"), "default", "a", "", "2")
	require.NoError(t, err)
	srv.Put(vm("default", "b", map[string]string{"n": "1"}))
	srv.Put(vm("default", "a", map[string]string{"n": "2"}))
	ev := next(t, ch)
	assert.Equal(t, client.Modified, ev.Type)
	assert.Equal(t, "a", ev.Object.Metadata.Name)
	assert.Contains(t, srv.Requests(), "GET /v1/namespaces/default/virtualmachines/a?resourceVersion=2&watch=1")

	_, err = c.Watch(ctx, kind(t, "vm"), "default", "a", "", "x")
	assert.ErrorContains(t, err, "not a number")
}

// TestWatchResumesAfterExpiry: the server forgets its history while
// changes happen; the client lists again and reports exactly what changed.
func TestWatchResumesAfterExpiry(t *testing.T) {
	srv, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Put(vm("default", "keep", nil), vm("default", "change", nil), vm("default", "gone", nil))
	ch, err := c.Watch(ctx, kind(t, "vm"), "default", "", "", "")
	require.NoError(t, err)
	for range 3 {
		assert.Equal(t, client.Added, next(t, ch).Type)
	}
	srv.Put(vm("default", "change", map[string]string{"v": "2"}))
	srv.Put(vm("default", "new", nil))
	srv.Remove("VirtualMachine", "default", "gone")
	// Drain the three live events, then expire and change things unseen.
	for range 3 {
		next(t, ch)
	}
	srv.ExpireWatches()
	time.Sleep(50 * time.Millisecond) // let the stream end before the unseen changes
	srv.Put(vm("default", "change", map[string]string{"v": "3"}))
	srv.Put(vm("default", "new2", nil))
	srv.Remove("VirtualMachine", "default", "new")

	got := map[string]client.EventType{}
	for len(got) < 3 {
		ev := next(t, ch)
		require.NoError(t, ev.Err)
		got[ev.Object.Metadata.Name] = ev.Type
	}
	assert.Equal(t, map[string]client.EventType{"change": client.Modified, "new2": client.Added, "new": client.Deleted}, got)

	srv.Put(vm("default", "after", nil))
	ev := next(t, ch)
	assert.Equal(t, client.Added, ev.Type)
	assert.Equal(t, "after", ev.Object.Metadata.Name)
}

func TestWatchExpiredAtStart(t *testing.T) {
	srv, c := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.Put(vm("default", "a", nil), vm("default", "b", nil))
	srv.ExpireWatches()
	srv.Put(vm("default", "b", map[string]string{"v": "2"}))
	ch, err := c.Watch(ctx, kind(t, "vm"), "default", "", "", "1")
	require.NoError(t, err)
	ev := next(t, ch)
	// a (version 1) is known to the caller; b changed after version 1.
	assert.Equal(t, "b", ev.Object.Metadata.Name)
	assert.Equal(t, client.Added, ev.Type)
}

func TestWatchErrors(t *testing.T) {
	srv, c := setup(t)
	ctx := context.Background()
	srv.Fail(http.MethodGet, "/v1/namespaces/default/virtualmachines", clienttest.Status{Code: 400, Reason: "BadRequest", Message: "labelSelector: bad"})
	_, err := c.Watch(ctx, kind(t, "vm"), "default", "", "!!", "")
	assert.True(t, client.IsBadRequest(err), "%v", err)

	ch, err := c.Watch(ctx, kind(t, "vm"), "default", "", "", "")
	require.NoError(t, err)
	srv.Close() // the agent goes away: the watch cannot resume
	var last client.Event
	for ev := range ch {
		last = ev
	}
	assert.Equal(t, client.Error, last.Type)
	assert.Error(t, last.Err)
}
