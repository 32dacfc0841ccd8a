package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"davit/agent/client/clienttest"
	"davit/api"

	"github.com/stretchr/testify/assert"
)

// result is what one davit invocation printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// davit runs the CLI against srv with args and stdin.
func davit(t *testing.T, srv *clienttest.Server, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if srv != nil {
		args = append([]string{"--addr", srv.URL}, args...)
	}
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

// syncBuffer is a bytes.Buffer safe to read while a command writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func ago(d time.Duration) *api.Time { return api.NewTime(time.Now().Add(-d)) }

func obj(kind, ns, name string, created time.Duration, spec, status string) *api.Object {
	k, _ := api.LookupKind(kind)
	o := &api.Object{TypeMeta: api.TypeMeta{APIVersion: k.APIVersion, Kind: k.Kind},
		Metadata: api.ObjectMeta{Name: name, Namespace: ns, CreationTimestamp: ago(created)}}
	if spec != "" {
		o.Spec = json.RawMessage(spec)
	}
	if status != "" {
		o.Status = json.RawMessage(status)
	}
	return o
}

func cvi(name, status string) *api.Object {
	return obj("cvi", "", name, 23*time.Hour, `{"dataSource":{"type":"HTTP","http":{"url":"http://x/img"}}}`, status)
}

func vm(ns, name, status string) *api.Object {
	return obj("vm", ns, name, 79*time.Minute, `{"virtualMachineClassName":"generic"}`, status)
}

func TestHelpAndUsageErrors(t *testing.T) {
	r := davit(t, nil, "", "--help")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "apply")
	assert.Contains(t, r.stdout, "describe")

	r = davit(t, nil, "", "get", "vm", "-h")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "davit get [command options]")

	r = davit(t, nil, "", "frobnicate")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error: unknown command \"frobnicate\" for \"davit\"\nSee 'davit --help' for usage.\n", r.stderr)

	r = davit(t, nil, "", "get", "vm", "--bogus")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error: flag provided but not defined: -bogus\nSee 'davit get --help' for usage.\n", r.stderr)

	r = davit(t, nil, "", "get")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "error: you must specify the type of resource to get; one of: clustervirtualimage (cvi, cvis)")

	r = davit(t, nil, "", "get", "pods")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error: the server doesn't have a resource type \"pods\"\n", r.stderr)
}

func TestConnectionRefused(t *testing.T) {
	srv := clienttest.NewServer(t)
	srv.Close()
	r := davit(t, srv, "", "get", "vm")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "error: GET "+srv.URL+"/v1/namespaces/default/virtualmachines: ")
	assert.Contains(t, r.stderr, "connection refused")
	assert.Contains(t, r.stderr, "DAVIT_ADDR")
}

func TestAddrFromEnvironmentAndHostPort(t *testing.T) {
	srv := clienttest.NewServer(t)
	t.Setenv("DAVIT_ADDR", strings.TrimPrefix(srv.URL, "http://"))
	r := davit(t, nil, "", "version")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Client Version: dev\nServer Version: v0.0.0-test\n", r.stdout)
}

func TestVersionAndStatus(t *testing.T) {
	srv := clienttest.NewServer(t)
	r := davit(t, nil, "", "version", "--client")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "Client Version: dev\n", r.stdout)

	srv.SetStatus("ebpf", map[string]any{"runQueueLatency": "unsupported: no BTF"})
	r = davit(t, srv, "", "status")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `Node:           node-1
Raft State:     Leader
Leader:         node-1 (127.0.0.1:9641)
Term:           2
Applied Index:  10
Commit Index:   10
Last Index:     10
Version:        v0.0.0-test
Uptime:         95s
Peers:
  ID      ADDRESS         SUFFRAGE
  node-1  127.0.0.1:9641  Voter
Ebpf:
  Run Queue Latency:  unsupported: no BTF
`, r.stdout)

	r = davit(t, srv, "", "status", "-o", "json")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"raftState": "Leader"`)
}

func TestCompletion(t *testing.T) {
	r := davit(t, nil, "", "completion", "bash")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "complete -o bashdefault -o default -F _davit_complete davit")
	r = davit(t, nil, "", "completion", "zsh")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stdout, "compdef _davit davit")
	r = davit(t, nil, "", "completion", "fish")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `unsupported shell "fish"`)

	srv := clienttest.NewServer(t)
	srv.Put(vm("default", "linux-vm", ""))
	r = davit(t, srv, "", "get", "--generate-bash-completion")
	assert.Contains(t, r.stdout, "virtualmachine\nvm\n")
	r = davit(t, srv, "", "get", "vm", "--generate-bash-completion")
	assert.Equal(t, "linux-vm\n", r.stdout)
	r = davit(t, srv, "", "get", "vm", "--no", "--generate-bash-completion")
	assert.Equal(t, "--no-headers\n", r.stdout)
	r = davit(t, srv, "", "get", "-", "--generate-bash-completion")
	assert.Contains(t, r.stdout, "--namespace\n-n\n")
	assert.Contains(t, r.stdout, "--addr\n")
	r = davit(t, nil, "", "--a", "--generate-bash-completion")
	assert.Equal(t, "--addr\n", r.stdout)
	r = davit(t, srv, "", "--generate-bash-completion")
	assert.Contains(t, r.stdout, "get\n")
}

func TestNormalizeArgs(t *testing.T) {
	app := newApp(nil, nil, nil)
	for _, tc := range []struct{ in, want string }{
		{"get cvi ubuntu -w", "get -w cvi ubuntu"},
		{"get cvi ubuntu -o wide -n prod", "get -o wide -n prod cvi ubuntu"},
		{"get vm -ojson", "get -o json vm"},
		{"get vm -nprod -A", "get -n prod -A vm"},
		{"get vm x --addr h:1 -l a=b", "--addr h:1 get -l a=b vm x"},
		{"--addr=h:1 get vm --output=yaml", "--addr=h:1 get --output=yaml vm"},
		{"apply -f - -n prod", "apply -f - -n prod"},
		{"get vm -- -odd-name", "get -- vm -odd-name"},
		{"delete vm a --wait=false", "delete --wait=false vm a"},
		{"get vm a --generate-bash-completion", "get vm a --generate-bash-completion"},
		{"get vm -x", "get -x vm"},
		{"unknown -x y", "unknown -x y"},
		{"get vm x -h", "get --help"},
	} {
		got := normalizeArgs(app, strings.Fields(tc.in))
		assert.Equal(t, tc.want, strings.Join(got, " "), tc.in)
	}
}

func TestRunReportsExitCoder(t *testing.T) {
	var errb bytes.Buffer
	assert.Equal(t, 0, report(&errb, nil))
	assert.Equal(t, 1, report(&errb, errSilent))
	assert.Empty(t, errb.String())
}

func TestAgentCommandRegistered(t *testing.T) {
	assert.NotNil(t, newApp(nil, nil, nil).Command("agent"))
}
