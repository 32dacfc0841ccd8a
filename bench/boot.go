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
	r, err := qemu.BootComparison(ctx, guest.Dir)
	if err != nil {
		return err
	}
	fmt.Println("== VM start (test guest, TCG) ==")
	fmt.Printf("to QMP running:    davit %8s   bare qemu %8s   ratio %.2f\n",
		r.DavitRunning.Round(time.Millisecond), r.BareRunning.Round(time.Millisecond), ratio(r.DavitRunning, r.BareRunning))
	fmt.Printf("to serial marker:  davit %8s   bare qemu %8s   ratio %.2f\n",
		r.DavitMarker.Round(time.Millisecond), r.BareMarker.Round(time.Millisecond), ratio(r.DavitMarker, r.BareMarker))
	return nil
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }
