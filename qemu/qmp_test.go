package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func dialFake(t *testing.T, f *fakeQMP, opts MonitorOptions) *Monitor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts.Logger = testLogger(t)
	m, err := DialMonitor(ctx, f.path, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

// DialMonitor retries while QEMU has not created its socket yet.
func TestMonitorConnectRetriesUntilSocketExists(t *testing.T) {
	f := newFakeQMP(t)
	go func() {
		time.Sleep(150 * time.Millisecond)
		f.listen()
	}()
	m := dialFake(t, f, MonitorOptions{})
	require.Equal(t, "7.2.22", m.Greeting())
	require.Equal(t, []string{"qmp_capabilities"}, f.commands())
}

func TestMonitorConnectGivesUpWithContext(t *testing.T) {
	f := newFakeQMP(t)
	f.listenSilent() // accepts, never greets: QEMU serving another client
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := DialMonitor(ctx, f.path, MonitorOptions{})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "QMP handshake")
}

func TestMonitorTypedCommands(t *testing.T) {
	f := newFakeQMP(t)
	f.handle("query-version", func(json.RawMessage) (any, string) {
		return map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 22}, "package": "Debian 1:7.2"}, ""
	})
	f.handle("query-cpus-fast", func(json.RawMessage) (any, string) {
		return []map[string]any{
			{"cpu-index": 0, "thread-id": 4242, "qom-path": "/machine/unattached/device[0]", "target": "x86_64",
				"props": map[string]int{"socket-id": 0, "core-id": 0, "thread-id": 0}},
			{"cpu-index": 1, "thread-id": 4243, "qom-path": "/machine/unattached/device[1]", "target": "x86_64",
				"props": map[string]int{"socket-id": 0, "core-id": 1, "thread-id": 0}},
		}, ""
	})
	for _, c := range []string{"system_powerdown", "quit", "cont", "stop"} {
		f.handle(c, func(json.RawMessage) (any, string) { return map[string]any{}, "" })
	}
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	ctx := context.Background()

	st, err := m.QueryStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, Status{Running: true, Status: StatusRunning}, st)
	v, err := m.QueryVersion(ctx)
	require.NoError(t, err)
	require.Equal(t, "7.2.22", v.String())
	require.Equal(t, "Debian 1:7.2", v.Package)
	cpus, err := m.QueryCPUsFast(ctx)
	require.NoError(t, err)
	require.Len(t, cpus, 2)
	require.Equal(t, 4243, cpus[1].ThreadID)
	require.Equal(t, 1, cpus[1].Props.CoreID)
	require.NoError(t, m.SystemPowerdown(ctx))
	require.NoError(t, m.Stop(ctx))
	require.NoError(t, m.Cont(ctx))
	require.NoError(t, m.Quit(ctx))
	require.Equal(t, []string{"qmp_capabilities", "query-status", "query-version", "query-cpus-fast",
		"system_powerdown", "stop", "cont", "quit"}, f.commands())
}

func TestMonitorErrorAnswer(t *testing.T) {
	f := newFakeQMP(t)
	f.handle("cont", func(json.RawMessage) (any, string) { return nil, "Resetting the Virtual Machine is required" })
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	err := m.Cont(context.Background())
	require.ErrorContains(t, err, "qmp cont: Resetting the Virtual Machine is required")
	err = m.Run(context.Background(), "no-such-command", nil, nil)
	require.ErrorContains(t, err, "has not been found")
	// The connection is still good.
	_, err = m.QueryStatus(context.Background())
	require.NoError(t, err)
}

func TestMonitorArguments(t *testing.T) {
	f := newFakeQMP(t)
	var got json.RawMessage
	f.handle("human-monitor-command", func(args json.RawMessage) (any, string) {
		got = args
		return "ok\r\n", ""
	})
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	var out string
	require.NoError(t, m.Run(context.Background(), "human-monitor-command", map[string]string{"command-line": "info status"}, &out))
	require.Equal(t, "ok\r\n", out)
	require.JSONEq(t, `{"command-line":"info status"}`, string(got))
}

// Events reach every subscriber, interleaved with command answers, and
// SHUTDOWN data decodes.
func TestMonitorEvents(t *testing.T) {
	f := newFakeQMP(t)
	var seen []string
	f.listen()
	m := dialFake(t, f, MonitorOptions{OnEvent: func(e Event) { seen = append(seen, e.Name) }})
	a, cancelA := m.Subscribe(16)
	b, cancelB := m.Subscribe(16)
	defer cancelB()

	f.event(EventStop, nil)
	f.event(EventResume, nil)
	_, err := m.QueryStatus(context.Background())
	require.NoError(t, err)
	f.event(EventPowerdown, nil)
	f.event(EventReset, map[string]any{"guest": true, "reason": "guest-reset"})
	f.event(EventShutdown, map[string]any{"guest": true, "reason": "guest-shutdown"})

	for _, ch := range []<-chan Event{a, b} {
		var names []string
		var last Event
		for len(names) < 5 {
			select {
			case e := <-ch:
				names = append(names, e.Name)
				last = e
			case <-time.After(5 * time.Second):
				t.Fatalf("events so far: %v", names)
			}
		}
		require.Equal(t, []string{EventStop, EventResume, EventPowerdown, EventReset, EventShutdown}, names)
		sd, ok := last.Shutdown()
		require.True(t, ok)
		require.Equal(t, Shutdown{Guest: true, Reason: "guest-shutdown"}, sd)
		require.Equal(t, int64(1795467958), last.Time.Unix())
	}
	cancelA()
	_, open := <-a
	require.False(t, open, "cancel closes the channel")
	require.Equal(t, []string{EventStop, EventResume, EventPowerdown, EventReset, EventShutdown}, seen)
}

// A slow subscriber loses events; QMP itself never blocks on it.
func TestMonitorSlowSubscriberDoesNotBlock(t *testing.T) {
	f := newFakeQMP(t)
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	ch, cancel := m.Subscribe(1)
	defer cancel()
	for i := 0; i < 50; i++ {
		f.event(EventReset, nil)
	}
	_, err := m.QueryStatus(context.Background())
	require.NoError(t, err)
	require.Len(t, ch, 1)
}

// A command whose answer does not come in time fails with ErrQMPTimeout;
// the late answer is dropped, and the next command gets its own answer.
func TestMonitorCommandTimeoutKeepsAnswersInStep(t *testing.T) {
	f := newFakeQMP(t)
	f.handle("system_powerdown", func(json.RawMessage) (any, string) { return map[string]any{"late": true}, "" })
	release := f.holdAnswer("system_powerdown")
	f.listen()
	m := dialFake(t, f, MonitorOptions{CommandTimeout: 200 * time.Millisecond})

	t0 := time.Now()
	err := m.SystemPowerdown(context.Background())
	require.ErrorIs(t, err, ErrQMPTimeout)
	require.Less(t, time.Since(t0), 2*time.Second)

	release()
	st, err := m.QueryStatus(context.Background())
	require.NoError(t, err)
	require.Equal(t, StatusRunning, st.Status, "the late powerdown answer must not be taken for query-status's")
}

// When QEMU goes away, Lost closes, subscribers' channels close and
// commands fail with ErrQMPClosed.
func TestMonitorConnectionLost(t *testing.T) {
	f := newFakeQMP(t)
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	ch, cancel := m.Subscribe(4)
	defer cancel()
	f.dropClient()
	select {
	case <-m.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost not closed")
	}
	_, open := <-ch
	require.False(t, open)
	_, err := m.QueryStatus(context.Background())
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrQMPClosed), "%v", err)
	ch2, cancel2 := m.Subscribe(1)
	defer cancel2()
	_, open = <-ch2
	require.False(t, open, "subscribing after the loss gives a closed channel")
}

func TestMonitorClosed(t *testing.T) {
	f := newFakeQMP(t)
	f.listen()
	m := dialFake(t, f, MonitorOptions{})
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())
	_, err := m.QueryStatus(context.Background())
	require.ErrorIs(t, err, ErrQMPClosed)
}
