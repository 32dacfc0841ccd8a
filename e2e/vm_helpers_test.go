package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"davit/api"
	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// tinyClass is a class of our own whose smallest core fraction lets many
// one-core VMs fit a two-CPU test machine (the predefined classes would
// give each a whole core).
const tinyClass = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachineClass
metadata:
  name: tiny
spec:
  cpu:
    type: Host
  sizingPolicies:
    - cores: {min: 1, max: 4}
      coreFractions: [5, 100]
      defaultCoreFraction: 5
`

// vmAgent is a started agent for the VM and CPU tests: startVMAgent's
// (class "tiny" applied, CVI "guest" imported when asked) or
// startCPUAgent's (class "generic" Ready, CVI "guest" imported).
type vmAgent struct {
	*Agent
	t testing.TB
	// isoURL serves the test guest's ISO (when started with the guest).
	isoURL string
}

// in returns a for use in (sub)test t: failures are reported to t.
func (a *vmAgent) in(t testing.TB) *vmAgent {
	c := *a
	c.t = t
	return &c
}

// startVMAgent starts agent name (see startAgent), applies class tiny and,
// when guest is set, imports the test guest's ISO as CVI "guest".
func startVMAgent(t *testing.T, name string, guest bool) *vmAgent {
	t.Helper()
	a, g := startAgent(t, name, guest)
	require.Eventually(t, func() bool {
		_, _, code := a.CLI("", "get", "settings", "cluster")
		return code == 0
	}, 20*time.Second, 100*time.Millisecond, "the leader never bootstrapped the cluster")
	a.apply(tinyClass)
	if guest {
		a.importGuest(g)
	}
	return a
}

// startAgent starts agent name (also its cgroup parent's name: agents
// running at the same time need different names), having built the test
// guest first when guest is set; if t fails, the tail of the agent's log
// is reported.
func startAgent(t *testing.T, name string, guest bool) (*vmAgent, qemutest.GuestFiles) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts an agent process and QEMU")
	}
	var g qemutest.GuestFiles
	if guest {
		g = qemutest.Guest(t)
	}
	var a *vmAgent
	t.Cleanup(func() { // registered first: runs last, after the agent's own cleanups
		if t.Failed() && a != nil && a.Log != nil {
			log := a.Log.String()
			if len(log) > 20000 {
				log = log[len(log)-20000:]
			}
			t.Logf("agent %s log (tail):\n%s", name, log)
		}
	})
	a = &vmAgent{Agent: NewAgent(t, name), t: t}
	a.Start()
	return a, g
}

// importGuest serves the test guest g over HTTP and imports its ISO as
// CVI "guest", waiting until it is Ready.
func (a *vmAgent) importGuest(g qemutest.GuestFiles) {
	a.t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(g.ISO))))
	a.t.Cleanup(srv.Close)
	a.isoURL = srv.URL + "/" + filepath.Base(g.ISO)
	a.apply(cviYAML("guest", a.isoURL))
	a.waitCVIReady("guest", 60*time.Second)
}

// apply runs `davit apply -f -` and requires success.
func (a *vmAgent) apply(manifest string) string {
	a.t.Helper()
	out, errOut, code := a.CLI(manifest, "apply", "-f", "-")
	require.Equal(a.t, 0, code, "apply: %s%s", out, errOut)
	return out
}

func (a *vmAgent) waitCVIReady(name string, d time.Duration) {
	a.t.Helper()
	var out string
	require.Eventually(a.t, func() bool {
		out, _, _ = a.CLI("", "get", "cvi", name, "-o", "jsonpath={.status.phase}")
		return out == "Ready"
	}, d, 200*time.Millisecond, "CVI %s not Ready (phase %q)", name, out)
}

func cviYAML(name, url string) string {
	return fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: ClusterVirtualImage
metadata:
  name: %s
spec:
  dataSource:
    type: HTTP
    http:
      url: %s
`, name, url)
}

// vmYAML is a one-core VM of class tiny in namespace default; devices are
// "Kind/name" pairs, in boot order.
func vmYAML(name, policy string, devices ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualMachine
metadata:
  name: %s
  namespace: default
spec:
  runPolicy: %s
  virtualMachineClassName: tiny
  cpu: {cores: 1}
  memory: {size: 256Mi}
  blockDeviceRefs:
`, name, policy)
	for _, d := range devices {
		kind, n, _ := strings.Cut(d, "/")
		fmt.Fprintf(&b, "    - {kind: %s, name: %s}\n", kind, n)
	}
	return b.String()
}

// blankDiskYAML is a blank VirtualDisk on the default (local) class.
func blankDiskYAML(name, size string) string {
	return fmt.Sprintf(`apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDisk
metadata:
  name: %s
  namespace: default
spec:
  persistentVolumeClaim:
    size: %s
`, name, size)
}

// vmView is what the tests read of a VM (`davit get vm -o json`).
type vmView struct {
	Metadata struct {
		UID               string   `json:"uid"`
		DeletionTimestamp *string  `json:"deletionTimestamp"`
		Finalizers        []string `json:"finalizers"`
	} `json:"metadata"`
	Status struct {
		Phase      string           `json:"phase"`
		PowerState string           `json:"powerState"`
		NodeName   string           `json:"nodeName"`
		Conditions []api.Condition  `json:"conditions"`
		Resources  *api.VMResources `json:"resources"`
		Usage      *api.VMUsage     `json:"usage"`
	} `json:"status"`
}

// cond returns the condition typ, or a zero one.
func (v vmView) cond(typ string) api.Condition {
	if c := api.FindCondition(v.Status.Conditions, typ); c != nil {
		return *c
	}
	return api.Condition{}
}

func (v vmView) String() string {
	var cs []string
	for _, c := range v.Status.Conditions {
		cs = append(cs, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return fmt.Sprintf("phase=%q power=%q node=%q conditions=[%s]", v.Status.Phase, v.Status.PowerState,
		v.Status.NodeName, strings.Join(cs, "; "))
}

// getVM reads VM default/name; ok is false when it does not exist.
func (a *vmAgent) getVM(name string) (vmView, bool) {
	a.t.Helper()
	var v vmView
	out, _, code := a.CLI("", "get", "vm", name, "-n", "default", "-o", "json")
	if code != 0 {
		return v, false
	}
	require.NoError(a.t, json.Unmarshal([]byte(out), &v), out)
	return v, true
}

// waitVM polls VM name until ok says yes, failing after d with the last
// state seen.
func (a *vmAgent) waitVM(name string, d time.Duration, what string, ok func(vmView) bool) vmView {
	a.t.Helper()
	var v vmView
	var found bool
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(150 * time.Millisecond) {
		if v, found = a.getVM(name); found && ok(v) {
			return v
		}
	}
	a.t.Fatalf("VM %s: %s not seen within %s (exists %v, last %s)", name, what, d, found, v)
	return v
}

func (a *vmAgent) waitPhase(name, phase string, d time.Duration) vmView {
	a.t.Helper()
	return a.waitVM(name, d, "phase "+phase, func(v vmView) bool { return v.Status.Phase == phase })
}

// waitGone waits until object kind/name (namespace default) no longer
// exists.
func (a *vmAgent) waitGone(kind, name string, d time.Duration) {
	a.t.Helper()
	var out string
	require.Eventually(a.t, func() bool {
		var code int
		out, _, code = a.CLI("", "get", kind, name, "-n", "default", "-o", "json")
		return code != 0
	}, d, 200*time.Millisecond, "%s %s still exists: %s", kind, name, out)
}

// deleteVM deletes VM default/name and waits until it is gone.
func (a *vmAgent) deleteVM(name string) {
	a.t.Helper()
	_, errOut, code := a.CLI("", "delete", "vm", name, "-n", "default")
	require.Equal(a.t, 0, code, errOut)
	a.waitGone("vm", name, 60*time.Second)
}

// vmDir is DATA/vms/<uid>.
func (a *vmAgent) vmDir(uid string) string { return filepath.Join(a.DataDir, "vms", uid) }

// qemuPID returns the PID of VM uid's QEMU from its pidfile, after
// checking that the process is alive and its command line names the VM's
// directory; 0 when there is no such live QEMU.
func (a *vmAgent) qemuPID(uid string) int {
	dir := a.vmDir(uid)
	b, err := os.ReadFile(filepath.Join(dir, "qemu.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0
	}
	if !pidAlive(pid) {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
		return 0
	}
	return pid
}

// runningPID waits for VM name to be Running with a live QEMU other than
// not (0: any) and returns the VM and the PID.
func (a *vmAgent) runningPID(name string, not int, d time.Duration) (vmView, int) {
	a.t.Helper()
	what := "Running with a live QEMU"
	if not != 0 {
		what = fmt.Sprintf("Running with a QEMU other than %d", not)
	}
	var pid int
	v := a.waitVM(name, d, what, func(v vmView) bool {
		if v.Status.Phase != string(api.VMRunning) {
			return false
		}
		pid = a.qemuPID(v.Metadata.UID)
		return pid != 0 && pid != not
	})
	return v, pid
}

// pidAlive: the process exists and is not a zombie.
func pidAlive(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	return !bytes.Contains(st, []byte(") Z "))
}

// waitPIDGone waits until pid has ended.
func waitPIDGone(t testing.TB, pid int, d time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return !pidAlive(pid) }, d, 50*time.Millisecond, "process %d still alive", pid)
}

// kill9 kills pid with SIGKILL and waits for it to end.
func kill9(t testing.TB, pid int) {
	t.Helper()
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitPIDGone(t, pid, 10*time.Second)
}

// guestConsole is a connection to a VM's serial console socket that collects
// every line the guest prints from the moment it connected.
type guestConsole struct {
	t     testing.TB
	conn  net.Conn
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

// openConsole connects to DATA/vms/<uid>/console.sock.
func (a *vmAgent) openConsole(uid string) *guestConsole {
	a.t.Helper()
	conn, err := net.Dial("unix", filepath.Join(a.vmDir(uid), "console.sock"))
	require.NoError(a.t, err)
	c := &guestConsole{t: a.t, conn: conn, done: make(chan struct{})}
	go func() { // ends when the connection does
		defer close(c.done)
		sc := bufio.NewScanner(conn)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, strings.TrimRight(sc.Text(), "\r"))
			c.mu.Unlock()
		}
	}()
	a.t.Cleanup(c.close)
	return c
}

func (c *guestConsole) close() {
	_ = c.conn.Close()
	<-c.done
}

// send types s on the console.
func (c *guestConsole) send(s string) {
	c.t.Helper()
	_, err := c.conn.Write([]byte(s))
	require.NoError(c.t, err)
}

var tickRE = regexp.MustCompile(`tick (\d+)`)

// waitTick waits for a "tick N" line with N > after and returns N.
func (c *guestConsole) waitTick(after int, d time.Duration) int {
	c.t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c.mu.Lock()
		for _, l := range c.lines {
			if m := tickRE.FindStringSubmatch(l); m != nil {
				if n, _ := strconv.Atoi(m[1]); n > after {
					c.mu.Unlock()
					return n
				}
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t.Fatalf("no tick above %d on the console within %s; saw %q", after, d, c.lines)
	return 0
}

// ticks are the numbers of every "tick N" line seen, in order.
func (c *guestConsole) ticks() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ns []int
	for _, l := range c.lines {
		if m := tickRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			ns = append(ns, n)
		}
	}
	return ns
}

// lastTick is the highest tick seen so far (0: none).
func (c *guestConsole) lastTick() int {
	best := 0
	for _, n := range c.ticks() {
		best = max(best, n)
	}
	return best
}

// vmopPhase reads operation default/name's phase.
func (a *vmAgent) vmopPhase(name string) string {
	out, _, _ := a.CLI("", "get", "vmop", name, "-n", "default", "-o", "jsonpath={.status.phase}")
	return strings.TrimSpace(out)
}

// waitVMOP waits for operation name to reach phase.
func (a *vmAgent) waitVMOP(name, phase string, d time.Duration) {
	a.t.Helper()
	var got string
	require.Eventually(a.t, func() bool { got = a.vmopPhase(name); return got == phase },
		d, 200*time.Millisecond, "VMOP %s not %s (phase %q)", name, phase, got)
}

// cgroupV1 is the agent's group dir for rel (e.g. "vm-<uid>") in the v1
// hierarchy of controller (e.g. "cpu").
func (a *vmAgent) cgroupV1(controller, rel string) string {
	return filepath.Join("/sys/fs/cgroup", controller, a.CgroupParent, rel)
}
