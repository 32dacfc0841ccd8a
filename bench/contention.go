package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"davit/cgroup"
)

// The CPU guarantee under contention: busy processes placed through the
// cgroup package in VM groups whose guarantees (cores × coreFraction) add up
// to the node's CPUs, each group demanding as many CPUs as it has cores.
// Each group's measured CPU (cpuacct.usage on v1, cpu.stat usage_usec on v2)
// is divided by its guarantee. Under contention the weights split the node
// in proportion to the guarantees and the quotas cap nobody (every group's
// share is below its cores), so the goal is 0.95–1.05 for every group. A
// second run shows that a 20% VM alone on the node bursts to its full cores.
// Busy processes stand in for guests: TCG guests are too slow to saturate a
// CPU predictably, and the enforcement under test is the same cgroup.

// ContentionRow is one VM group of a run.
type ContentionRow struct {
	Name           string
	Cores          int
	CoreFraction   int // percent
	Busy           int // busy processes in the group
	GuaranteedCPUs float64
	MeasuredCPUs   float64
	Ratio          float64 // measured ÷ guaranteed
	// Split is the group's share of the CPU davit's groups got, divided by
	// its share of their guarantees: how exactly the weights divided the
	// node, whatever load outside davit took (1.00 = exact proportion).
	Split            float64
	ThrottledPeriods uint64
}

// ContentionReport is the outcome of ContentionBenchmark.
type ContentionReport struct {
	Mode     string
	NodeCPUs int
	Duration time.Duration
	Rows     []ContentionRow
	// OtherCPUs is what the node spent outside the davit groups during the
	// contended run (host daemons, other tests): it dilutes every ratio.
	OtherCPUs float64
	// Burst is the uncontended run: one 20% VM alone.
	Burst ContentionRow
}

// ContentionBenchmark runs both measurements for d each on this node (root,
// real cgroups) and prints the table. Without root or cgroups it returns an
// error wrapping cgroup.ErrNotSupported, which a caller may treat as a skip.
func ContentionBenchmark(ctx context.Context, d time.Duration) (rep ContentionReport, err error) {
	if os.Geteuid() != 0 {
		return rep, fmt.Errorf("contention benchmark needs root: %w", cgroup.ErrNotSupported)
	}
	cfg := cgroup.DefaultConfig()
	cfg.Parent = "davit-bench-" + strconv.Itoa(os.Getpid())
	m, err := cgroup.New(cfg)
	if err != nil {
		return rep, fmt.Errorf("contention benchmark: %w", err)
	}
	defer func() { err = errors.Join(err, m.Destroy()) }()
	pool, err := m.SharedPool()
	if err != nil {
		return rep, err
	}
	n := len(pool)
	rep.Mode, rep.NodeCPUs, rep.Duration = m.Mode().String(), n, d

	// Guarantees: n/2 + n/4 + n/4 = n CPUs (2 CPUs: 1.0 + 0.5 + 0.5).
	groups := []ContentionRow{
		{Name: "A", Cores: n, CoreFraction: 50},
		{Name: "B", Cores: n, CoreFraction: 25},
		{Name: "C", Cores: max(1, n/2), CoreFraction: 50},
	}
	rows, other, err := contend(ctx, m, groups, d)
	if err != nil {
		return rep, err
	}
	rep.Rows, rep.OtherCPUs = rows, other
	burst, _, err := contend(ctx, m, []ContentionRow{{Name: "D", Cores: n, CoreFraction: 20}}, d)
	if err != nil {
		return rep, err
	}
	rep.Burst = burst[0]
	printContention(rep)
	return rep, nil
}

// contend runs one measurement: every group created, filled with Cores busy
// processes, warmed up, measured for d, then torn down (processes killed by
// PID, groups deleted) whatever happens.
func contend(ctx context.Context, m cgroup.Manager, groups []ContentionRow, d time.Duration) (_ []ContentionRow, other float64, err error) {
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = syscall.Kill(p.Process.Pid, syscall.SIGKILL)
			_ = p.Wait()
		}
		for _, g := range groups {
			if derr := m.Delete(uid(g)); derr != nil && !errors.Is(derr, cgroup.ErrNotFound) {
				err = errors.Join(err, derr)
			}
		}
	}()
	for i := range groups {
		g := &groups[i]
		g.Busy = g.Cores
		milli := int64(g.Cores) * int64(g.CoreFraction) * 10
		g.GuaranteedCPUs = float64(milli) / 1000
		if err := m.Create(uid(*g), cgroup.Spec{CPUGuaranteedMilli: milli, CPULimitCores: g.Cores}); err != nil {
			return nil, 0, err
		}
		for range g.Busy {
			p := exec.Command("sh", "-c", "while :; do :; done")
			if err := p.Start(); err != nil {
				return nil, 0, err
			}
			procs = append(procs, p)
			if err := m.AddProcess(uid(*g), p.Process.Pid); err != nil {
				return nil, 0, err
			}
		}
	}
	if err := sleep(ctx, time.Second); err != nil { // let the scheduler settle
		return nil, 0, err
	}
	before := make([]cgroup.Stats, len(groups))
	for i, g := range groups {
		if before[i], err = m.Stats(uid(g)); err != nil {
			return nil, 0, err
		}
	}
	busy0, err := nodeBusy()
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := sleep(ctx, d); err != nil {
		return nil, 0, err
	}
	wall := time.Since(start).Seconds()
	busy1, err := nodeBusy()
	if err != nil {
		return nil, 0, err
	}
	davit, guaranteed := 0.0, 0.0
	for i := range groups {
		st, err := m.Stats(uid(groups[i]))
		if err != nil {
			return nil, 0, err
		}
		g := &groups[i]
		g.MeasuredCPUs = float64(st.UsageNs-before[i].UsageNs) / 1e9 / wall
		g.Ratio = g.MeasuredCPUs / g.GuaranteedCPUs
		g.ThrottledPeriods = st.ThrottledPeriods - before[i].ThrottledPeriods
		davit += g.MeasuredCPUs
		guaranteed += g.GuaranteedCPUs
	}
	for i := range groups {
		g := &groups[i]
		g.Split = (g.MeasuredCPUs / davit) / (g.GuaranteedCPUs / guaranteed)
	}
	return groups, max(0, (busy1-busy0)/wall-davit), nil
}

func uid(g ContentionRow) string { return "bench-" + strings.ToLower(g.Name) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// nodeBusy is the node's non-idle CPU time in seconds, from /proc/stat.
func nodeBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("parse /proc/stat: %q", line)
	}
	var ticks float64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/stat: %w", err)
		}
		ticks += x
	}
	return ticks / 100, nil // USER_HZ
}

func printContention(r ContentionReport) {
	fmt.Printf("== CPU guarantee under contention (cgroup %s, %d CPUs, %s per run) ==\n", r.Mode, r.NodeCPUs, r.Duration)
	fmt.Printf("%-5s %5s %12s %4s %10s %9s %9s %6s %9s\n", "group", "cores", "coreFraction", "busy", "guaranteed", "measured", "meas/guar", "split", "throttled")
	var g, m float64
	for _, row := range r.Rows {
		fmt.Printf("%-5s %5d %11d%% %4d %10.2f %9.2f %9.2f %6.2f %9d\n", row.Name, row.Cores, row.CoreFraction, row.Busy,
			row.GuaranteedCPUs, row.MeasuredCPUs, row.Ratio, row.Split, row.ThrottledPeriods)
		g += row.GuaranteedCPUs
		m += row.MeasuredCPUs
	}
	fmt.Printf("%-5s %5s %12s %4s %10.2f %9.2f\n", "total", "", "", "", g, m)
	fmt.Printf("CPU used outside davit's groups meanwhile: %.2f\n", r.OtherCPUs)
	b := r.Burst
	fmt.Printf("== Uncontended burst: one VM, %d cores × %d%% (guaranteed %.2f) alone ==\n", b.Cores, b.CoreFraction, b.GuaranteedCPUs)
	fmt.Printf("measured %.2f CPUs of its %d cores (%.2f× its guarantee), throttled periods %d\n",
		b.MeasuredCPUs, b.Cores, b.Ratio, b.ThrottledPeriods)
}
