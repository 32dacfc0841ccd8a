package qemu

import (
	"context"
	"fmt"
	"time"

	"github.com/digitalocean/go-qemu/qmp"
)

// QMP run states (query-status "status") davit acts on.
const (
	StatusRunning   = "running"
	StatusPaused    = "paused"
	StatusPrelaunch = "prelaunch" // started with -S, never continued
	StatusShutdown  = "shutdown"
)

// QMP events davit acts on.
const (
	EventShutdown  = "SHUTDOWN"
	EventPowerdown = "POWERDOWN"
	EventReset     = "RESET"
	EventStop      = "STOP"
	EventResume    = "RESUME"
)

// Status is query-status's answer.
type Status struct {
	Running bool   `json:"running"`
	Status  string `json:"status"`
}

// VCPU is one entry of query-cpus-fast: a vCPU and its host thread.
type VCPU struct {
	Index    int    `json:"cpu-index"`
	ThreadID int    `json:"thread-id"`
	QOMPath  string `json:"qom-path"`
	Props    struct {
		SocketID int `json:"socket-id"`
		CoreID   int `json:"core-id"`
		ThreadID int `json:"thread-id"`
	} `json:"props"`
}

// Version is query-version's answer.
type Version struct {
	QEMU struct {
		Major int `json:"major"`
		Minor int `json:"minor"`
		Micro int `json:"micro"`
	} `json:"qemu"`
	Package string `json:"package"`
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.QEMU.Major, v.QEMU.Minor, v.QEMU.Micro)
}

// Event is one asynchronous QMP event.
type Event struct {
	Name string
	Data map[string]any
	Time time.Time
}

func eventFrom(e qmp.Event) Event {
	return Event{
		Name: e.Event,
		Data: e.Data,
		Time: time.Unix(e.Timestamp.Seconds, e.Timestamp.Microseconds*1000),
	}
}

// Shutdown describes a SHUTDOWN event: whether the guest asked for it and
// QEMU's reason ("guest-shutdown", "host-qmp-quit", "host-signal",
// "guest-reset", "guest-panic", ...).
type Shutdown struct {
	Guest  bool   `json:"guest"`
	Reason string `json:"reason"`
}

// Shutdown decodes a SHUTDOWN event's data; ok is false for other events.
func (e Event) Shutdown() (s Shutdown, ok bool) {
	if e.Name != EventShutdown {
		return Shutdown{}, false
	}
	s.Guest, _ = e.Data["guest"].(bool)
	s.Reason, _ = e.Data["reason"].(string)
	return s, true
}

// QueryStatus runs query-status.
func (m *Monitor) QueryStatus(ctx context.Context) (Status, error) {
	var s Status
	err := m.Run(ctx, "query-status", nil, &s)
	return s, err
}

// SystemPowerdown presses the ACPI power button (system_powerdown). The
// guest decides what to do with it.
func (m *Monitor) SystemPowerdown(ctx context.Context) error {
	return m.Run(ctx, "system_powerdown", nil, nil)
}

// Quit makes QEMU exit at once (quit); the guest gets no say.
func (m *Monitor) Quit(ctx context.Context) error {
	return m.Run(ctx, "quit", nil, nil)
}

// Cont starts or resumes the vCPUs (cont).
func (m *Monitor) Cont(ctx context.Context) error {
	return m.Run(ctx, "cont", nil, nil)
}

// Stop pauses the vCPUs (QMP stop); it does not end QEMU.
func (m *Monitor) Stop(ctx context.Context) error {
	return m.Run(ctx, "stop", nil, nil)
}

// QueryCPUsFast lists the vCPUs with their host thread IDs.
func (m *Monitor) QueryCPUsFast(ctx context.Context) ([]VCPU, error) {
	var cpus []VCPU
	err := m.Run(ctx, "query-cpus-fast", nil, &cpus)
	return cpus, err
}

// QueryVersion runs query-version.
func (m *Monitor) QueryVersion(ctx context.Context) (Version, error) {
	var v Version
	err := m.Run(ctx, "query-version", nil, &v)
	return v, err
}
