package main

import (
	"context"
	"fmt"
	"time"

	"davit/qemu"
	"davit/qemu/qemutest"
)

// bootBench compares davit's VM start with a bare qemu-system-x86_64
// launch of the same command line: time to QMP "running" and to the test
// guest's serial marker (TCG on the build machines).
func bootBench(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	dir, err := qemutest.CacheDir()
	if err != nil {
		return err
	}
	guest, err := qemutest.Build(ctx, dir)
	if err != nil {
		return fmt.Errorf("build test guest: %w", err)
	}
	var runs []qemu.BootResult
	for range bootRuns {
		r, err := qemu.BootComparison(ctx, guest.Dir)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	med := func(f func(qemu.BootResult) time.Duration) time.Duration { return medianOf(runs, f) }
	dr, br := med(func(r qemu.BootResult) time.Duration { return r.DavitRunning }), med(func(r qemu.BootResult) time.Duration { return r.BareRunning })
	dm, bm := med(func(r qemu.BootResult) time.Duration { return r.DavitMarker }), med(func(r qemu.BootResult) time.Duration { return r.BareMarker })
	fmt.Printf("== VM start (test guest, TCG, median of %d) ==\n", bootRuns)
	fmt.Printf("to QMP running:    davit %8s   bare qemu %8s   ratio %.2f\n", dr.Round(time.Millisecond), br.Round(time.Millisecond), ratio(dr, br))
	fmt.Printf("to serial marker:  davit %8s   bare qemu %8s   ratio %.2f\n", dm.Round(time.Millisecond), bm.Round(time.Millisecond), ratio(dm, bm))
	return nil
}

// bootRuns is how many davit/bare pairs the boot section runs (a single
// start under TCG on a busy machine varies by tens of milliseconds).
const bootRuns = 5

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
