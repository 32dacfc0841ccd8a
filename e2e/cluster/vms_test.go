package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"davit/agent/client"
	"davit/api"
	"davit/qemu"
	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// TestVMLifecycle is the VM issue's acceptance scenario on three nodes: a
// VM whose root disk is copied from a ClusterVirtualImage of the test
// disk boots on the node the scheduler chose (its console shows the
// marker), survives a kill -9 and restart of that node's agent untouched,
// stops and starts through operations (on the same node: its local disk is
// bound there), and with runPolicy AlwaysOn comes back after the guest
// powers itself off.
func TestVMLifecycle(t *testing.T) {
	c, guest := vmCluster(t)
	n0 := c.Nodes[0]

	uploadImage(t, n0, "guest-disk", guest.Disk)
	applyYAML(t, n0, `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: root
spec:
  persistentVolumeClaim:
    size: 64Mi
  dataSource:
    type: ObjectRef
    objectRef:
      kind: ClusterVirtualImage
      name: guest-disk
---
`+vmYAML("AlwaysOnUnlessStoppedManually"))

	// A VM no node can take waits Pending and says which filter rejected
	// how many nodes.
	nowhere := strings.NewReplacer("name: web", "name: nowhere", "name: root", "name: spare",
		"  runPolicy:", "  nodeSelector:\n    rack: moon\n  runPolicy:").Replace(vmYAML("AlwaysOn"))
	applyYAML(t, n0, `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: spare
spec:
  persistentVolumeClaim:
    size: 16Mi
---
`+nowhere)
	waitVM(t, n0, "nowhere", 30*time.Second, func(vm *api.VirtualMachine) bool {
		c := api.FindCondition(vm.Status.Conditions, "Running")
		return vm.Status.Phase == api.VMPending && c != nil && strings.Contains(c.Message, "0/3 nodes are available: 3 NodeSelectorMismatch")
	})
	_, errOut, code := n0.CLI("", "delete", "vm", "nowhere")
	require.Equal(t, 0, code, errOut)

	vm := waitVM(t, n0, "web", 90*time.Second, func(vm *api.VirtualMachine) bool { return vm.Status.Phase == api.VMRunning })
	host := c.node(t, vm.Status.NodeName)
	require.Contains(t, n0.Log()+c.Nodes[1].Log()+c.Nodes[2].Log(), "placed VM", "the leader placed it")
	pid := qemuPID(t, host, vm.Metadata.UID)
	for _, nd := range c.Nodes {
		if nd != host {
			require.NoDirExists(t, filepath.Join(nd.DataDir, "vms", vm.Metadata.UID), "QEMU runs only on %s", host.Name)
		}
	}
	require.NotEmpty(t, vm.Status.BootSpec, "the boot spec is kept in the status")
	var vd api.VirtualDisk
	getJSON(t, n0, "vd", "root", &vd)
	require.Equal(t, api.DiskReady, vd.Status.Phase)
	require.Equal(t, host.Name, vd.Status.Volume.Node, "the local disk is bound where the VM runs")

	// The console, reached through another node's agent: a reboot typed
	// into it makes the guest print its marker again.
	other := c.Nodes[(host.Index+1)%3]
	require.Contains(t, consoleUntil(t, other, "web", "reboot\n", qemu.GuestReadyMarker), qemu.GuestReadyMarker)
	require.Equal(t, pid, qemuPID(t, host, vm.Metadata.UID), "a guest reboot does not restart QEMU")

	// kill -9 of the agent: the VM keeps running, the restarted agent
	// re-attaches, and the guest never notices (its tick counter goes on).
	before := lastTick(t, host, vm.Metadata.UID)
	host.Kill()
	require.True(t, alive(pid), "QEMU survives its agent")
	host.Start()
	vm = waitVM(t, n0, "web", 30*time.Second, func(vm *api.VirtualMachine) bool { return vm.Status.Phase == api.VMRunning })
	require.Equal(t, host.Name, vm.Status.NodeName)
	require.Equal(t, pid, qemuPID(t, host, vm.Metadata.UID), "the same QEMU after the agent restart")
	require.Greater(t, lastTick(t, host, vm.Metadata.UID), before, "the guest kept counting")
	require.Contains(t, host.Log(), "re-attached to running VM")

	// Stop and Start through operations.
	applyYAML(t, n0, vmopYAML("stop-web", "Stop"))
	waitVM(t, n0, "web", 90*time.Second, func(vm *api.VirtualMachine) bool {
		return vm.Status.Phase == api.VMStopped && vm.Status.NodeName == ""
	})
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 50*time.Millisecond, "QEMU ended")
	waitOp(t, n0, "stop-web", api.VMOPCompleted)
	applyYAML(t, n0, vmopYAML("start-web", "Start"))
	vm = waitVM(t, n0, "web", 60*time.Second, func(vm *api.VirtualMachine) bool { return vm.Status.Phase == api.VMRunning })
	waitOp(t, n0, "start-web", api.VMOPCompleted)
	require.Equal(t, host.Name, vm.Status.NodeName, "placed again where its local disk lives")
	pid2 := qemuPID(t, host, vm.Metadata.UID)
	require.NotEqual(t, pid, pid2)

	// AlwaysOn: a poweroff from inside the guest brings it back.
	applyYAML(t, n0, vmYAML("AlwaysOn"))
	consoleUntil(t, other, "web", "poweroff\n", "DAVIT-GUEST-POWEROFF")
	require.Eventually(t, func() bool { return !alive(pid2) }, 20*time.Second, 50*time.Millisecond, "the guest powered off")
	vm = waitVM(t, n0, "web", 60*time.Second, func(vm *api.VirtualMachine) bool {
		if vm.Status.Phase != api.VMRunning {
			return false
		}
		p, err := readPID(host, vm.Metadata.UID)
		return err == nil && p != pid2 && alive(p)
	})
	require.Equal(t, host.Name, vm.Status.NodeName)
}

// vmCluster starts the three-node cluster of a VM test, with the test
// guest built; it skips under -short and without QEMU.
func vmCluster(t *testing.T) (*Cluster, qemutest.GuestFiles) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a cluster and VMs")
	}
	qemutest.NeedQEMU(t)
	guest := qemutest.Guest(t)
	return New(t, 3, Options{}), guest
}

func vmYAML(runPolicy string) string {
	return `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: web
spec:
  virtualMachineClassName: generic
  runPolicy: ` + runPolicy + `
  terminationGracePeriodSeconds: 20
  cpu:
    cores: 1
    coreFraction: 10%
  memory:
    size: 256Mi
  blockDeviceRefs:
  - kind: VirtualDisk
    name: root
`
}

func vmopYAML(name, typ string) string {
	return fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineOperation
metadata:
  name: %s
spec:
  type: %s
  virtualMachineName: web
`, name, typ)
}

// node returns the cluster node named name.
func (c *Cluster) node(t *testing.T, name string) *Node {
	t.Helper()
	for _, nd := range c.Nodes {
		if nd.Name == name {
			return nd
		}
	}
	t.Fatalf("no node %q", name)
	return nil
}

func applyYAML(t *testing.T, nd *Node, yaml string) {
	t.Helper()
	out, errOut, code := nd.CLI(yaml, "apply", "-f", "-")
	require.Equal(t, 0, code, "apply: %s %s", out, errOut)
}

// uploadImage creates a ClusterVirtualImage with an Upload source and
// uploads file to it through nd.
func uploadImage(t *testing.T, nd *Node, name, file string) {
	t.Helper()
	applyYAML(t, nd, `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: `+name+`
spec:
  dataSource:
    type: Upload
`)
	var url string
	require.Eventually(t, func() bool {
		var cvi api.ClusterVirtualImage
		if !tryJSON(nd, "cvi", name, &cvi) || cvi.Status.ImageUploadURLs == nil {
			return false
		}
		url = cvi.Status.ImageUploadURLs.External
		return url != ""
	}, 30*time.Second, 100*time.Millisecond, "upload URL of %s", name)
	body, err := os.ReadFile(file)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPut, nd.URL()+"/upload/"+filepath.Base(url), bytes.NewReader(body))
	require.NoError(t, err)
	resp, err := nd.Client().Do(req)
	require.NoError(t, err)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", msg)
	require.Eventually(t, func() bool {
		var cvi api.ClusterVirtualImage
		return tryJSON(nd, "cvi", name, &cvi) && cvi.Status.Phase == api.ImageReady
	}, 60*time.Second, 200*time.Millisecond, "image %s Ready", name)
}

// tryJSON reads one object with `davit get KIND NAME -o json`.
func tryJSON(nd *Node, kind, name string, into any) bool {
	out, _, code := nd.CLI("", "get", kind, name, "-o", "json")
	return code == 0 && json.Unmarshal([]byte(out), into) == nil
}

func getJSON(t *testing.T, nd *Node, kind, name string, into any) {
	t.Helper()
	require.True(t, tryJSON(nd, kind, name, into), "get %s %s", kind, name)
}

// waitVM polls VM name through nd until cond holds.
func waitVM(t *testing.T, nd *Node, name string, d time.Duration, cond func(*api.VirtualMachine) bool) *api.VirtualMachine {
	t.Helper()
	var vm api.VirtualMachine
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		vm = api.VirtualMachine{}
		if tryJSON(nd, "vm", name, &vm) && cond(&vm) {
			return &vm
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, _ := json.MarshalIndent(vm.Status, "", "  ")
	t.Fatalf("VM %s never reached the expected state; last status:\n%s", name, b)
	return nil
}

func waitOp(t *testing.T, nd *Node, name string, phase api.VMOPPhase) {
	t.Helper()
	var op api.VirtualMachineOperation
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		op = api.VirtualMachineOperation{}
		if tryJSON(nd, "vmop", name, &op) && op.Status.Phase == phase {
			return
		}
	}
	b, _ := json.MarshalIndent(op.Status, "", "  ")
	var vm api.VirtualMachine
	tryJSON(nd, "vm", op.Spec.VirtualMachineName, &vm)
	v, _ := json.MarshalIndent(vm.Status, "", "  ")
	t.Fatalf("operation %s never reached %s; its status:\n%s\nits VM's status:\n%s", name, phase, b, v)
}

func readPID(nd *Node, uid string) (int, error) {
	b, err := os.ReadFile(filepath.Join(nd.DataDir, "vms", uid, "qemu.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func qemuPID(t *testing.T, nd *Node, uid string) int {
	t.Helper()
	pid, err := readPID(nd, uid)
	require.NoError(t, err)
	require.True(t, alive(pid), "QEMU %d of %s runs on %s", pid, uid, nd.Name)
	return pid
}

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !bytes.Contains(st, []byte(") Z "))
}

// lastTick reads the guest's serial console for a moment and returns the
// highest "tick N" it printed.
func lastTick(t *testing.T, nd *Node, uid string) int {
	t.Helper()
	conn, err := net.Dial("unix", filepath.Join(nd.DataDir, "vms", uid, qemu.ConsoleName))
	require.NoError(t, err)
	defer conn.Close()
	var out []byte
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(2500 * time.Millisecond); time.Now().Before(deadline); {
		_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _ := conn.Read(buf)
		out = append(out, buf[:n]...)
	}
	best := -1
	for _, line := range strings.Split(string(out), "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "tick "))); err == nil && n > best {
			best = n
		}
	}
	require.GreaterOrEqual(t, best, 0, "no tick on the console: %q", out)
	return best
}

// consoleUntil opens VM name's serial console through nd's API (the
// davit-console upgrade, proxied to the VM's node when it runs elsewhere),
// types input and reads until want appears; it returns what it read.
func consoleUntil(t *testing.T, nd *Node, name, input, want string) string {
	t.Helper()
	cl, err := client.New(nd.URL(), client.WithHTTPClient(&http.Client{Transport: nd.Client().Transport}))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	con, err := cl.Console(ctx, "default", name)
	require.NoError(t, err)
	defer con.Close()
	// Wait for the console to answer (a tick) before typing, so the
	// input reaches a guest that is reading.
	var out []byte
	buf := make([]byte, 4096)
	typed := false
	for ctx.Err() == nil {
		n, err := con.Read(buf)
		out = append(out, buf[:n]...)
		if !typed && bytes.Contains(out, []byte("tick")) {
			_, werr := io.WriteString(con, input)
			require.NoError(t, werr)
			typed, out = true, nil
			continue
		}
		if typed && bytes.Contains(out, []byte(want)) {
			return string(out)
		}
		if err != nil {
			break
		}
	}
	t.Fatalf("console of %s through %s: %q never appeared after typing %q; read %q", name, nd.Name, want, input, out)
	return ""
}
