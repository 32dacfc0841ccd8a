package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"davit/agent/client/clienttest"
	"davit/api"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seeded(t *testing.T) *clienttest.Server {
	t.Helper()
	srv := clienttest.NewServer(t)
	srv.Put(
		cvi("ubuntu-22.04", `{"phase":"Ready","cdrom":false,"progress":"100%"}`),
		cvi("some-image", `{"phase":"WaitForUserUpload","imageUploadURLs":{"external":"https://davit.example/upload/abc","inCluster":"http://10.0.0.1:9640/upload/abc"}}`),
		vm("default", "linux-vm", `{"phase":"Running","nodeName":"virtlab-pt-1","ipAddress":"10.66.10.14"}`),
		vm("prod", "db", `{"phase":"Pending"}`),
		obj("vd", "default", "root", 79*time.Minute, `{}`, `{"phase":"Ready","capacity":"10Gi"}`),
	)
	return srv
}

func TestGetTables(t *testing.T) {
	srv := seeded(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "cvi", "ubuntu-22.04"}, `
NAME           PHASE   CDROM   PROGRESS   AGE
ubuntu-22.04   Ready   false   100%       23h
`},
		{[]string{"get", "clustervirtualimage/ubuntu-22.04"}, `
NAME           PHASE   CDROM   PROGRESS   AGE
ubuntu-22.04   Ready   false   100%       23h
`},
		{[]string{"get", "cvi"}, `
NAME           PHASE               CDROM   PROGRESS   AGE
some-image     WaitForUserUpload   false              23h
ubuntu-22.04   Ready               false   100%       23h
`},
		{[]string{"get", "vm"}, `
NAME       PHASE     NODE           IPADDRESS     AGE
linux-vm   Running   virtlab-pt-1   10.66.10.14   79m
`},
		{[]string{"get", "vm", "-A"}, `
NAMESPACE   NAME       PHASE     NODE           IPADDRESS     AGE
default     linux-vm   Running   virtlab-pt-1   10.66.10.14   79m
prod        db         Pending                                79m
`},
		// kubectl pads empty columns to six characters too
		{[]string{"get", "vm", "--no-headers", "-n", "prod"}, `
db    Pending               79m
`},
		{[]string{"get", "vm,vd"}, `
NAME                      PHASE     NODE           IPADDRESS     AGE
virtualmachine/linux-vm   Running   virtlab-pt-1   10.66.10.14   79m

NAME               PHASE   CAPACITY   VIRTUALMACHINE   AGE
virtualdisk/root   Ready   10Gi                        79m
`},
		{[]string{"get", "vm", "linux-vm", "-o", "wide"}, `
NAME       PHASE     UPTIME   CORES   COREFRACTION   MEMORY   NEED RESTART   AGENT   MIGRATABLE   NODE           IPADDRESS     AGE
linux-vm   Running                                                                                virtlab-pt-1   10.66.10.14   79m
`},
		{[]string{"get", "vm", "-A", "-o", "name"}, `
virtualmachine/linux-vm
virtualmachine/db
`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := davit(t, srv, "", tc.args...)
			assert.Equal(t, 0, r.code, r.stderr)
			assert.Empty(t, r.stderr)
			assert.Equal(t, strings.TrimPrefix(tc.want, "\n"), r.stdout)
		})
	}
}

func TestGetFormats(t *testing.T) {
	srv := seeded(t)
	r := davit(t, srv, "", "get", "cvi", "some-image", "-o", "jsonpath={.status.imageUploadURLs}")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, `{"external":"https://davit.example/upload/abc","inCluster":"http://10.0.0.1:9640/upload/abc"}`, r.stdout)

	r = davit(t, srv, "", "get", "cvi", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}`)
	assert.Equal(t, "some-image\nubuntu-22.04\n", r.stdout)

	r = davit(t, srv, "", "get", "cvi", "ubuntu-22.04", "-ojson")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "{\n    \"apiVersion\": \"virtualization.deckhouse.io/v1alpha2\",\n    \"kind\": \"ClusterVirtualImage\""), r.stdout)

	r = davit(t, srv, "", "get", "vm", "-o", "yaml")
	assert.Contains(t, r.stdout, "apiVersion: v1\nitems:\n- apiVersion: virtualization.deckhouse.io/v1alpha2\n")
	assert.Contains(t, r.stdout, "kind: List\n")

	r = davit(t, srv, "", "get", "vm", "-o", "xml")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `error: unable to match a printer suitable for the output format "xml"`)
}

func TestGetEmptyAndMissing(t *testing.T) {
	srv := seeded(t)
	r := davit(t, srv, "", "get", "vmop")
	assert.Equal(t, 0, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "No resources found in default namespace.\n", r.stderr)

	r = davit(t, srv, "", "get", "nodes")
	assert.Equal(t, "No resources found\n", r.stderr)
	r = davit(t, srv, "", "get", "vm", "-A", "-l", "app=none")
	assert.Equal(t, "No resources found\n", r.stderr)

	r = davit(t, srv, "", "get", "vm", "nope")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Equal(t, "Error from server (NotFound): virtualmachines \"nope\" not found\n", r.stderr)

	r = davit(t, srv, "", "get", "vm", "linux-vm", "nope")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "linux-vm")
	assert.Equal(t, "Error from server (NotFound): virtualmachines \"nope\" not found\n", r.stderr)

	r = davit(t, srv, "", "get", "vm", "vm/linux-vm")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "error: there is no need to specify a resource type as a separate argument")
	r = davit(t, srv, "", "get", "vm/linux-vm", "db")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `error: arguments in resource/name form must have a single resource and name, not "db"`)

	r = davit(t, srv, "", "get", "vm", "linux-vm", "-A")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "error: a resource cannot be retrieved by name across all namespaces\n", r.stderr)
}

func TestGetServerError(t *testing.T) {
	srv := seeded(t)
	srv.Fail("GET", "/v1/namespaces/default/virtualmachines", clienttest.Status{Code: 503, Reason: "ServiceUnavailable", Message: "no leader"})
	r := davit(t, srv, "", "get", "vm")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "Error from server (ServiceUnavailable): no leader\n", r.stderr)
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 10*time.Millisecond, what)
}

// TestGetWatch replays the guide's `davit get cvi ubuntu-22.04 -w`.
func TestGetWatch(t *testing.T) {
	srv := clienttest.NewServer(t)
	srv.Put(cvi("ubuntu-22.04", `{"phase":"Provisioning","cdrom":false}`), cvi("other", `{"phase":"Ready"}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", srv.URL, "get", "cvi", "ubuntu-22.04", "-w"}, nil, &out, &errb)
	}()
	lines := func() int { return strings.Count(out.String(), "\n") }
	waitFor(t, "header and first row", func() bool { return lines() == 2 })
	for _, st := range []string{
		`{"phase":"Provisioning","cdrom":false,"progress":"28.2%"}`,
		`{"phase":"Ready","cdrom":false,"progress":"100%"}`,
	} {
		o := srv.Object("ClusterVirtualImage", "", "ubuntu-22.04")
		o.Status = []byte(st)
		srv.Put(o)
		srv.Put(srv.Object("ClusterVirtualImage", "", "other")) // not watched
	}
	waitFor(t, "two more rows", func() bool { return lines() == 4 })
	cancel()
	assert.Equal(t, 0, <-done)
	assert.Empty(t, errb.String())
	assert.Equal(t, `NAME           PHASE          CDROM   PROGRESS   AGE
ubuntu-22.04   Provisioning   false              23h
ubuntu-22.04   Provisioning   false   28.2%      23h
ubuntu-22.04   Ready          false   100%       23h
`, out.String())
}

func TestGetWatchListJSON(t *testing.T) {
	srv := clienttest.NewServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"--addr", srv.URL, "get", "vm", "-w", "-o", "name"}, nil, &out, &errb)
	}()
	waitFor(t, "watch open", func() bool {
		for _, r := range srv.Requests() {
			if strings.Contains(r, "watch=1") {
				return true
			}
		}
		return false
	})
	srv.Put(vm("default", "a", ""))
	srv.Put(vm("prod", "b", "")) // another namespace
	srv.Remove("VirtualMachine", "default", "a")
	waitFor(t, "events", func() bool { return out.String() == "virtualmachine/a\nvirtualmachine/a\n" })
	cancel()
	assert.Equal(t, 0, <-done)
}

func TestGetWatchErrors(t *testing.T) {
	srv := seeded(t)
	r := davit(t, srv, "", "get", "vm,vd", "-w")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "error: you may only specify a single resource type with --watch")
	r = davit(t, srv, "", "get", "vm", "nope", "-w")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "Error from server (NotFound): virtualmachines \"nope\" not found\n", r.stderr)
}

func TestDescribe(t *testing.T) {
	srv := seeded(t)
	r := davit(t, srv, "", "describe", "vm", "linux-vm")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "Name:         linux-vm\nNamespace:    default\n"), r.stdout)
	assert.Contains(t, r.stdout, "  Virtual Machine Class Name:  generic\n")
	assert.Contains(t, r.stdout, "  Node Name:   virtlab-pt-1\n")

	r = davit(t, srv, "", "describe", "cvi")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "Name:  "))
	assert.Contains(t, r.stdout, "\n\nName:  ")

	r = davit(t, srv, "", "describe", "vm", "nope")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "Error from server (NotFound): virtualmachines \"nope\" not found\n", r.stderr)

	r = davit(t, srv, "", "describe", "vmop")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, "No resources found in default namespace.\n", r.stderr)
}

func TestDelete(t *testing.T) {
	srv := seeded(t)
	r := davit(t, srv, "", "delete", "vm", "linux-vm")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "virtualmachine \"linux-vm\" deleted\n", r.stdout)
	assert.Nil(t, srv.Object("VirtualMachine", "default", "linux-vm"))

	r = davit(t, srv, "", "delete", "vm", "linux-vm")
	assert.Equal(t, 1, r.code)
	assert.Equal(t, "Error from server (NotFound): virtualmachines \"linux-vm\" not found\n", r.stderr)
	r = davit(t, srv, "", "delete", "vm", "linux-vm", "--ignore-not-found")
	assert.Equal(t, 0, r.code)
	assert.Empty(t, r.stdout+r.stderr)

	r = davit(t, srv, "", "delete", "cvi/some-image", "cvi/ubuntu-22.04")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "clustervirtualimage \"some-image\" deleted\nclustervirtualimage \"ubuntu-22.04\" deleted\n", r.stdout)

	r = davit(t, srv, "", "delete", "vm")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no name was specified")
	r = davit(t, srv, "", "delete", "vm", "--all", "-n", "prod")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "virtualmachine \"db\" deleted\n", r.stdout)
}

func TestDeleteWaitsForFinalizers(t *testing.T) {
	srv := clienttest.NewServer(t)
	o := vm("default", "held", "")
	o.Metadata.Finalizers = []string{"davit.io/cleanup"}
	srv.Put(o)

	r := davit(t, srv, "", "delete", "vm", "held", "--wait=false")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "virtualmachine \"held\" deleted\n", r.stdout)
	require.NotNil(t, srv.Object("VirtualMachine", "default", "held").Metadata.DeletionTimestamp)

	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"--addr", srv.URL, "delete", "vm", "held"}, nil, &out, &errb)
	}()
	waitFor(t, "deleted printed", func() bool { return out.String() != "" })
	select {
	case <-done:
		t.Fatal("delete returned while the finalizer holds the object")
	case <-time.After(100 * time.Millisecond):
	}
	srv.Remove("VirtualMachine", "default", "held") // the controller lets go
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(5 * time.Second):
		t.Fatal("delete did not return after the object went")
	}
}

func TestDeleteKindsFromAPI(t *testing.T) {
	// every kind the API serves can be named on the command line
	for _, k := range api.Kinds() {
		for _, n := range append([]string{k.Kind, k.Plural, k.Singular}, k.ShortNames...) {
			_, err := lookupKind(n)
			assert.NoError(t, err, n)
		}
	}
}
