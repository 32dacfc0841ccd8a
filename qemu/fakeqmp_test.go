package qemu

import (
	"encoding/json"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"davit/qemu/qemutest"

	"github.com/stretchr/testify/require"
)

// fakeQMP is a QMP server on a unix socket speaking the real protocol:
// the greeting, qmp_capabilities, one JSON object per line, answers
// {"return": ...} or {"error": {"class", "desc"}}, and asynchronous
// events. Handlers answer commands; a command in hold gets its answer only
// when release is called.
type fakeQMP struct {
	t    *testing.T
	path string
	ln   net.Listener

	mu       sync.Mutex
	conn     net.Conn
	handlers map[string]func(args json.RawMessage) (any, string)
	hold     map[string]chan struct{}
	received []string

	connected chan struct{}
	wg        sync.WaitGroup
}

func newFakeQMP(t *testing.T) *fakeQMP {
	f := &fakeQMP{
		t:         t,
		path:      filepath.Join(qemutest.ShortDir(t), "qmp.sock"),
		handlers:  map[string]func(json.RawMessage) (any, string){},
		hold:      map[string]chan struct{}{},
		connected: make(chan struct{}),
	}
	f.handle("query-status", func(json.RawMessage) (any, string) {
		return map[string]any{"running": true, "singlestep": false, "status": "running"}, ""
	})
	return f
}

// handle sets the answer to a command: a return value, or an error
// description when desc is not "".
func (f *fakeQMP) handle(cmd string, h func(args json.RawMessage) (any, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[cmd] = h
}

// holdAnswer makes cmd's answer wait until the returned func is called.
func (f *fakeQMP) holdAnswer(cmd string) (release func()) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.hold[cmd] = ch
	f.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// listen starts serving one client (the next connection).
func (f *fakeQMP) listen() {
	ln, err := net.Listen("unix", f.path)
	require.NoError(f.t, err)
	f.ln = ln
	f.wg.Add(1)
	go f.serve()
	f.t.Cleanup(f.close)
}

// listenSilent accepts connections and never greets (a QEMU busy with
// another client).
func (f *fakeQMP) listenSilent() {
	ln, err := net.Listen("unix", f.path)
	require.NoError(f.t, err)
	f.ln = ln
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	f.t.Cleanup(f.close)
}

func (f *fakeQMP) close() {
	f.ln.Close()
	f.dropClient()
	f.mu.Lock()
	for _, ch := range f.hold {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	f.hold = map[string]chan struct{}{}
	f.mu.Unlock()
	f.wg.Wait()
}

// dropClient closes the client connection, as a QEMU that exits does.
func (f *fakeQMP) dropClient() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		f.conn.Close()
	}
}

func (f *fakeQMP) serve() {
	defer f.wg.Done()
	conn, err := f.ln.Accept()
	if err != nil {
		return
	}
	f.mu.Lock()
	f.conn = conn
	f.mu.Unlock()
	close(f.connected)
	f.send(map[string]any{"QMP": map[string]any{
		"version":      map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 22}, "package": "fake"},
		"capabilities": []string{"oob"},
	}})
	// Clients need not end commands with a newline (go-qemu does not):
	// QEMU parses a stream of JSON values, and so does this fake.
	dec := json.NewDecoder(conn)
	negotiated := false
	for {
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := dec.Decode(&req); err != nil {
			return
		}
		f.mu.Lock()
		f.received = append(f.received, req.Execute)
		h, hold := f.handlers[req.Execute], f.hold[req.Execute]
		f.mu.Unlock()
		switch {
		case req.Execute == "qmp_capabilities":
			negotiated = true
			f.send(map[string]any{"return": map[string]any{}})
			continue
		case !negotiated:
			f.send(qmpError("CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'"))
			continue
		}
		answer := qmpError("CommandNotFound", "The command "+req.Execute+" has not been found")
		if h != nil {
			ret, desc := h(req.Arguments)
			if desc != "" {
				answer = qmpError("GenericError", desc)
			} else {
				answer = map[string]any{"return": ret}
			}
		}
		if hold != nil { // QMP answers in order: later commands wait too
			<-hold
		}
		f.send(answer)
	}
}

func qmpError(class, desc string) map[string]any {
	return map[string]any{"error": map[string]any{"class": class, "desc": desc}}
}

// send writes one JSON line to the client (ignoring a gone client).
func (f *fakeQMP) send(v any) {
	b, err := json.Marshal(v)
	require.NoError(f.t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		_, _ = f.conn.Write(append(b, '\n'))
	}
}

// event sends an asynchronous event.
func (f *fakeQMP) event(name string, data map[string]any) {
	f.send(map[string]any{
		"event":     name,
		"data":      data,
		"timestamp": map[string]int64{"seconds": 1795467958, "microseconds": 57120},
	})
}

func (f *fakeQMP) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.received...)
}
