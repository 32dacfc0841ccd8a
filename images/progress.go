package images

import (
	"io"
	"time"
)

// Phase is the step of an import that a Progress report is about.
type Phase string

// Import phases, in order. Conversion is skipped for ISO and qcow2 sources.
const (
	PhaseDownload Phase = "download" // receiving and unpacking the source
	PhaseConvert  Phase = "convert"  // qemu-img convert to qcow2
)

// DefaultProgressInterval is how often progress is reported at most.
const DefaultProgressInterval = time.Second

// Progress is one report of an import or download. Reports arrive from
// the goroutine doing the work, at most once per interval plus a final
// one per phase; the callback must not block for long.
type Progress struct {
	Phase Phase
	// Done and Total are bytes received and expected (Total < 0 when the
	// source did not say). Download phase only.
	Done, Total int64
	// Percent of this phase, 0..100, or -1 when Total is unknown.
	Percent float64
	// AvgSpeed is bytes/s since the phase began; CurrentSpeed bytes/s
	// since the previous report. Download phase only.
	AvgSpeed, CurrentSpeed int64
}

// Overall maps the report onto one percentage for status.progress:
// downloading fills 0–90 %, converting 90–99.9 %. It never reaches 100:
// only a Ready image is complete.
func (p Progress) Overall() float64 {
	pct := max(p.Percent, 0)
	switch p.Phase {
	case PhaseDownload:
		return min(pct*0.9, 90)
	case PhaseConvert:
		return min(90+pct*0.099, 99.9)
	}
	return 0
}

// meter counts the bytes read through it and reports download progress.
type meter struct {
	r        io.Reader
	fn       func(Progress)
	interval time.Duration
	total    int64
	done     int64
	start    time.Time
	lastT    time.Time
	lastDone int64
}

func newMeter(r io.Reader, total int64, fn func(Progress), interval time.Duration) *meter {
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	now := time.Now()
	return &meter{r: r, fn: fn, interval: interval, total: total, start: now, lastT: now}
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.done += int64(n)
	if m.fn != nil && time.Since(m.lastT) >= m.interval {
		m.report()
	}
	return n, err
}

// finish sends the last report of the phase.
func (m *meter) finish() {
	if m.fn != nil {
		m.report()
	}
}

func (m *meter) report() {
	now := time.Now()
	p := Progress{Phase: PhaseDownload, Done: m.done, Total: m.total, Percent: -1}
	if m.total > 0 {
		p.Percent = min(100, 100*float64(m.done)/float64(m.total))
	} else if m.total == 0 {
		p.Percent = 100
	}
	p.AvgSpeed = rate(m.done, now.Sub(m.start))
	p.CurrentSpeed = rate(m.done-m.lastDone, now.Sub(m.lastT))
	m.lastT, m.lastDone = now, m.done
	m.fn(p)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}
