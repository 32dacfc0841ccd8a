package cpuinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Accelerators QEMU can probe with. Which one a node uses is the agent's
// decision (KVM only where the CPU shows vmx or svm and /dev/kvm opens).
const (
	AccelKVM = "kvm"
	AccelTCG = "tcg"
)

// Config says how to probe.
type Config struct {
	// QEMUBinary is the QEMU system emulator, a path or a name looked up
	// in PATH.
	QEMUBinary string
	// Accelerator is AccelKVM or AccelTCG. The models a node can run
	// depend on it: 38 under TCG on the build machines, 11 under their
	// PVM "KVM".
	Accelerator string
	// Timeout bounds one probe, QEMU start to kill.
	Timeout time.Duration
	// CPUInfoPath is the kernel's CPU description, /proc/cpuinfo.
	CPUInfoPath string
	// Logger receives one line per probe or cache decision; nil discards.
	Logger *slog.Logger
}

// DefaultConfig probes qemu-system-x86_64 under TCG, which runs anywhere;
// the agent sets Accelerator to what it chose.
func DefaultConfig() Config {
	return Config{
		QEMUBinary:  "qemu-system-x86_64",
		Accelerator: AccelTCG,
		Timeout:     30 * time.Second,
		CPUInfoPath: "/proc/cpuinfo",
	}
}

// Validate names the first bad field and its value.
func (c Config) Validate() error {
	switch {
	case c.QEMUBinary == "":
		return fmt.Errorf("QEMUBinary is empty: %w", ErrInvalidConfig)
	case c.Accelerator != AccelKVM && c.Accelerator != AccelTCG:
		return fmt.Errorf("Accelerator %q: want %q or %q: %w", c.Accelerator, AccelKVM, AccelTCG, ErrInvalidConfig)
	case c.Timeout <= 0:
		return fmt.Errorf("Timeout %v: want > 0: %w", c.Timeout, ErrInvalidConfig)
	case c.CPUInfoPath == "":
		return fmt.Errorf("CPUInfoPath is empty: %w", ErrInvalidConfig)
	}
	return nil
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// Probe computes this node's facts: the host's vendor and features from
// /proc/cpuinfo, then, from a throwaway QEMU (-machine none, QMP on
// stdio), the usable named models, each usable model's features, the
// host-model features (expansion of "host" under KVM, "max" under TCG) and
// QEMU's version. The QEMU is killed by its PID before Probe returns, also
// when ctx ends or cfg.Timeout passes. A missing QEMU wraps ErrNoQEMU.
func Probe(ctx context.Context, cfg Config) (Facts, error) {
	if err := cfg.Validate(); err != nil {
		return Facts{}, fmt.Errorf("probe cpu facts: %w", err)
	}
	start := time.Now()
	host, err := ReadHost(cfg.CPUInfoPath)
	if err != nil {
		return Facts{}, fmt.Errorf("probe cpu facts: %w", err)
	}
	bin, modTime, err := resolveQEMU(cfg.QEMUBinary)
	if err != nil {
		return Facts{}, fmt.Errorf("probe cpu facts: %w", err)
	}
	kernel, err := kernelRelease()
	if err != nil {
		return Facts{}, fmt.Errorf("probe cpu facts: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rep, err := probeQEMU(ctx, bin, cfg.Accelerator)
	if err != nil {
		return Facts{}, fmt.Errorf("probe cpu facts: %w", err)
	}
	f := Facts{
		Schema:            FactsSchema,
		Vendor:            host.Vendor,
		Features:          host.Features,
		Accelerator:       cfg.Accelerator,
		UsableModels:      rep.usable,
		Models:            rep.models,
		HostModelFeatures: rep.hostFeatures,
		QEMUVersion:       rep.version,
		QEMUBinary:        bin,
		QEMUModTime:       modTime,
		KernelVersion:     kernel,
		ProbedAt:          start.UTC().Truncate(time.Second),
	}
	f.HostModel = chooseBaseline(setOf(f.HostModelFeatures...), f)
	cfg.logger().Info("cpu facts probed", "accelerator", f.Accelerator, "vendor", f.Vendor,
		"usableModels", len(f.UsableModels), "hostModel", f.HostModel,
		"qemu", f.QEMUVersion, "duration", time.Since(start).Round(time.Millisecond))
	return f, nil
}

// qemuReport is what the throwaway QEMU told.
type qemuReport struct {
	version      string
	usable       []string            // sorted
	models       map[string]CPUModel // the usable named models
	hostFeatures []string            // sorted
}

// probeQEMU starts QEMU, asks it, and kills it.
func probeQEMU(ctx context.Context, bin, accel string) (qemuReport, error) {
	p, err := startQEMU(ctx, bin, accel)
	if err != nil {
		return qemuReport{}, err
	}
	rep, err := queryQEMU(p.conn, accel)
	p.kill()
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			return qemuReport{}, fmt.Errorf("%s -accel %s: %w (%v)", bin, accel, cause, err)
		}
		return qemuReport{}, fmt.Errorf("%s -accel %s: %w%s", bin, accel, err, p.stderr.suffix())
	}
	return rep, nil
}

// qemuProcess is a QEMU with no guest, spoken to over QMP on its stdio.
type qemuProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	conn   *qmpConn
}

// startQEMU starts `bin -machine none -nodefaults -nographic -accel ACCEL
// -qmp stdio` and negotiates QMP. exec.CommandContext kills it when ctx
// ends, which also unblocks a pending QMP read.
func startQEMU(ctx context.Context, bin, accel string) (*qemuProcess, error) {
	cmd := exec.CommandContext(ctx, bin,
		"-machine", "none", "-nodefaults", "-nographic", "-accel", accel, "-qmp", "stdio")
	cmd.WaitDelay = 2 * time.Second
	p := &qemuProcess{cmd: cmd, stderr: &tailBuffer{max: 2048}}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	if p.conn, err = dialQMP(stdout, p.stdin); err != nil {
		p.kill()
		if cause := context.Cause(ctx); cause != nil {
			return nil, fmt.Errorf("%s -accel %s: %w (%v)", bin, accel, cause, err)
		}
		return nil, fmt.Errorf("%s -accel %s: %w%s", bin, accel, err, p.stderr.suffix())
	}
	return p, nil
}

// kill ends QEMU by its PID and reaps it. QEMU exits with an error when
// killed; that is the expected end, so Wait's error is not one.
func (p *qemuProcess) kill() {
	_ = p.stdin.Close()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// cpuDefinition is one entry of query-cpu-definitions.
type cpuDefinition struct {
	Name string `json:"name"`
	// Unavailable is nil when QEMU could not tell, which counts as not
	// usable.
	Unavailable *[]string `json:"unavailable-features"`
}

// queryQEMU asks an open QMP connection everything Probe needs.
func queryQEMU(c *qmpConn, accel string) (qemuReport, error) {
	var rep qemuReport
	var err error
	if rep.version, err = queryVersion(c); err != nil {
		return rep, err
	}
	var defs []cpuDefinition
	if err := c.execute("query-cpu-definitions", nil, &defs); err != nil {
		return rep, err
	}
	rep.models = map[string]CPUModel{}
	for _, d := range defs {
		if d.Unavailable == nil || len(*d.Unavailable) > 0 {
			continue
		}
		rep.usable = append(rep.usable, d.Name)
		if !isNamedModel(d.Name) {
			continue
		}
		if rep.models[d.Name], err = expandModel(c, d.Name); err != nil {
			return rep, err
		}
	}
	sort.Strings(rep.usable)
	hostModel := "max"
	if accel == AccelKVM {
		hostModel = "host"
	}
	host, err := expandModel(c, hostModel)
	if err != nil {
		return rep, err
	}
	rep.hostFeatures = host.Features
	return rep, nil
}

// queryVersion formats query-version as `qemu-system-x86_64 --version`
// does after "QEMU emulator version ": 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3).
func queryVersion(c *qmpConn) (string, error) {
	var v struct {
		QEMU    struct{ Major, Minor, Micro int } `json:"qemu"`
		Package string                            `json:"package"`
	}
	if err := c.execute("query-version", nil, &v); err != nil {
		return "", err
	}
	s := fmt.Sprintf("%d.%d.%d", v.QEMU.Major, v.QEMU.Minor, v.QEMU.Micro)
	if p := strings.TrimSpace(v.Package); p != "" {
		s += " (" + p + ")"
	}
	return s, nil
}

// expandModel runs query-cpu-model-expansion type full and keeps the
// vendor and the features: boolean properties set to true whose name is a
// canonical QEMU feature (aliases such as sse4_1 and non-feature switches
// such as l3-cache or check are dropped).
func expandModel(c *qmpConn, name string) (CPUModel, error) {
	args := map[string]any{"type": "full", "model": map[string]any{"name": name}}
	var out struct {
		Model struct {
			Props map[string]any `json:"props"`
		} `json:"model"`
	}
	if err := c.execute("query-cpu-model-expansion", args, &out); err != nil {
		return CPUModel{}, fmt.Errorf("expand cpu model %s: %w", name, err)
	}
	var m CPUModel
	for k, v := range out.Model.Props {
		if on, ok := v.(bool); ok && on && qemuFeatures[k] {
			m.Features = append(m.Features, k)
		}
	}
	sort.Strings(m.Features)
	m.Vendor, _ = out.Model.Props["vendor"].(string)
	return m, nil
}

// isNamedModel is false for QEMU's pseudo models: host and max (the host
// CPU, or all the accelerator can do, neither migration-safe) and base (no
// feature at all). They are run by Host and HostPassthrough classes, never
// published as a node's models nor used as a baseline.
func isNamedModel(name string) bool {
	return name != "host" && name != "max" && name != "base"
}

// resolveQEMU finds the binary and its modification time.
func resolveQEMU(name string) (string, time.Time, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", name, errors.Join(ErrNoQEMU, err))
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", name, errors.Join(ErrNoQEMU, err))
	}
	return path, st.ModTime().UTC(), nil
}

// qemuVersion runs `bin --version`, much cheaper than a probe, and returns
// the part after "QEMU emulator version ", the form Facts.QEMUVersion has.
func qemuVersion(ctx context.Context, bin string) (string, error) {
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", bin, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	v, ok := strings.CutPrefix(strings.TrimSpace(first), "QEMU emulator version ")
	if !ok {
		return "", fmt.Errorf("%s --version: unexpected %q: %w", bin, first, ErrQMP)
	}
	return v, nil
}

func kernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", fmt.Errorf("uname: %w", err)
	}
	return string(bytes.TrimRight(u.Release[:], "\x00")), nil
}

// tailBuffer keeps the last max bytes written to it: QEMU's stderr, quoted
// in errors. exec copies stderr from its own goroutine, hence the lock.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = t.b[over:]
	}
	return len(p), nil
}

// suffix is ": stderr: ..." or "" when QEMU wrote nothing.
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return ""
	}
	return ": stderr: " + s
}
