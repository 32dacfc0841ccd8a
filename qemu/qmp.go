package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// MonitorOptions tune a QMP connection.
type MonitorOptions struct {
	// CommandTimeout bounds each command when the caller's context has no
	// earlier deadline; default 10 s.
	CommandTimeout time.Duration
	// RetryInterval is the pause between connection attempts while the
	// socket is not there yet; default 20 ms.
	RetryInterval time.Duration
	// Logger; default discards.
	Logger *slog.Logger
	// OnEvent, when set, sees every event on the event goroutine before
	// subscribers do. It must not block.
	OnEvent func(Event)
}

func (o MonitorOptions) withDefaults() MonitorOptions {
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 10 * time.Second
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 20 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Monitor is one QMP connection to a QEMU, over its unix socket, through
// go-qemu's qmp.SocketMonitor. QEMU serves one QMP client at a time.
//
// Commands are serialised (go-qemu's lock). A command whose context ends
// returns at once; its answer, when QEMU sends one, is read and dropped by
// the goroutine still waiting for it, so answers never get out of step.
// That goroutine ends with the answer, with QEMU's exit or with Close.
type Monitor struct {
	path string
	opts MonitorOptions
	sm   *qmp.SocketMonitor

	mu      sync.Mutex
	closed  bool
	subs    map[int]*subscriber
	nextSub int

	lost      chan struct{} // closed when the connection ends
	closeOnce sync.Once
	wg        sync.WaitGroup
}

type subscriber struct {
	ch      chan Event
	dropped int
}

// DialMonitor connects to the QMP socket at path, retrying while the socket
// does not exist or refuses (QEMU still starting) until ctx ends, and does
// the capabilities handshake.
func DialMonitor(ctx context.Context, path string, opts MonitorOptions) (*Monitor, error) {
	opts = opts.withDefaults()
	for {
		m, err := connectOnce(ctx, path, opts)
		if err == nil {
			return m, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect QMP %s: %w (last error: %w)", path, context.Cause(ctx), err)
		case <-time.After(opts.RetryInterval):
		}
	}
}

func connectOnce(ctx context.Context, path string, opts MonitorOptions) (*Monitor, error) {
	timeout := opts.CommandTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	sm, err := qmp.NewSocketMonitor("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	// Connect has no deadline of its own: a QEMU that already serves
	// another client accepts the connection but never greets. Disconnect
	// unblocks it.
	done := make(chan error, 1)
	go func() { done <- sm.Connect() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		_ = sm.Disconnect()
		<-done
		return nil, fmt.Errorf("QMP handshake: %w", context.Cause(ctx))
	}
	if err != nil {
		_ = sm.Disconnect()
		return nil, fmt.Errorf("QMP handshake: %w", err)
	}
	events, err := sm.Events(context.Background())
	if err != nil {
		_ = sm.Disconnect()
		return nil, fmt.Errorf("QMP events: %w", err)
	}
	m := &Monitor{path: path, opts: opts, sm: sm, subs: map[int]*subscriber{}, lost: make(chan struct{})}
	m.wg.Add(1)
	go m.pump(events)
	return m, nil
}

// pump reads go-qemu's event channel until the connection ends. It must
// keep reading: go-qemu's reader blocks on an unread event, and with it
// every command's answer.
func (m *Monitor) pump(events <-chan qmp.Event) {
	defer m.wg.Done()
	for e := range events {
		ev := eventFrom(e)
		if m.opts.OnEvent != nil {
			m.opts.OnEvent(ev)
		}
		m.dispatch(ev)
	}
	m.mu.Lock()
	for id, s := range m.subs {
		close(s.ch)
		delete(m.subs, id)
	}
	m.mu.Unlock()
	close(m.lost)
}

func (m *Monitor) dispatch(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.subs {
		select {
		case s.ch <- ev:
		default:
			s.dropped++
			m.opts.Logger.Warn("QMP event dropped: subscriber too slow", "event", ev.Name, "dropped", s.dropped)
		}
	}
}

// Subscribe returns a channel of the events that arrive from now on, with
// room for buffer of them (more are dropped and logged, never blocking
// QMP), and a cancel func. The channel is closed by cancel or when the
// connection ends.
func (m *Monitor) Subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, buffer)
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.lost:
		close(ch)
		return ch, func() {}
	default:
	}
	id := m.nextSub
	m.nextSub++
	m.subs[id] = &subscriber{ch: ch}
	return ch, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if s, ok := m.subs[id]; ok {
			close(s.ch)
			delete(m.subs, id)
		}
	}
}

// Lost is closed when the connection ends (QEMU exited or Close).
func (m *Monitor) Lost() <-chan struct{} { return m.lost }

// Greeting returns the QEMU version QMP announced on connect.
func (m *Monitor) Greeting() string {
	if m.sm.Version == nil {
		return ""
	}
	return m.sm.Version.String()
}

// Run executes a QMP command with arguments (nil for none) and decodes its
// "return" into out (nil to ignore). A QMP error answer comes back as an
// error with QEMU's description.
func (m *Monitor) Run(ctx context.Context, execute string, args any, out any) error {
	cmd, err := json.Marshal(qmp.Command{Execute: execute, Args: args})
	if err != nil {
		return fmt.Errorf("qmp %s: encode: %w", execute, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.CommandTimeout)
	defer cancel()
	type result struct {
		raw []byte
		err error
	}
	ch := make(chan result, 1)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fmt.Errorf("qmp %s: %w", execute, ErrQMPClosed)
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		raw, err := m.sm.Run(cmd)
		ch <- result{raw, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("qmp %s: %w", execute, ErrQMPTimeout)
		}
		return fmt.Errorf("qmp %s: %w", execute, ctx.Err())
	}
	if r.err != nil {
		select {
		case <-m.lost:
			return fmt.Errorf("qmp %s: %w: %w", execute, ErrQMPClosed, r.err)
		default:
		}
		return fmt.Errorf("qmp %s: %w", execute, r.err)
	}
	if out == nil {
		return nil
	}
	var resp struct {
		Return json.RawMessage `json:"return"`
	}
	if err := json.Unmarshal(r.raw, &resp); err != nil {
		return fmt.Errorf("qmp %s: decode answer: %w", execute, err)
	}
	if err := json.Unmarshal(resp.Return, out); err != nil {
		return fmt.Errorf("qmp %s: decode return: %w", execute, err)
	}
	return nil
}

// Close ends the connection and waits for the monitor's goroutines. QEMU
// keeps running. Safe to call more than once.
func (m *Monitor) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.mu.Lock()
		m.closed = true
		m.mu.Unlock()
		err = m.sm.Disconnect()
		m.wg.Wait()
	})
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("close QMP %s: %w", m.path, err)
	}
	return nil
}
