package main

import (
	"context"
	"errors"

	"davit/agent/scheduler"
	"davit/cgroup"
	"davit/qemu/qemutest"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	bin := flag.String("davit", "bin/davit", "path of the davit binary to benchmark")
	dur := flag.Duration("duration", 5*time.Second, "how long each measurement runs")
	clients := flag.Int("clients", 64, "concurrent clients")
	only := flag.String("only", "", "run only this section: raft, boot, vmapply, scheduler, contention or imports")
	vmRuns := flag.Int("vm-runs", 5, "VMs applied (and bare launches) by the vmapply section")
	flag.Parse()
	sections := []string{"raft", "boot", "vmapply", "scheduler", "contention", "imports"}
	if *only != "" && !slices.Contains(sections, *only) {
		fmt.Fprintf(os.Stderr, "bench: -only %q: not one of %v\n", *only, sections)
		os.Exit(2)
	}
	if err := run(*bin, *dur, *clients, section(*only), *vmRuns); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// section tells whether a section runs: every one when only is "".
type section string

func (only section) runs(name string) bool { return only == "" || string(only) == name }

func run(bin string, d time.Duration, clients int, only section, vmRuns int) error {
	dir, err := os.MkdirTemp("", "davit-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if only.runs("raft") {
		if err := raftBench(bin, dir, d, clients); err != nil {
			return err
		}
	}
	if only.runs("boot") {
		if err := bootBench(context.Background()); err != nil {
			fmt.Println("== VM start: skipped:", err)
		}
	}
	if only.runs("vmapply") {
		if err := vmApplyBench(context.Background(), bin, vmRuns); errors.Is(err, qemutest.ErrMissingTool) {
			fmt.Println("== VM apply → Running: skipped:", err)
		} else if err != nil {
			return fmt.Errorf("vm apply: %w", err)
		}
	}
	if only.runs("scheduler") {
		fmt.Println("== Scheduler ==")
		fmt.Printf("placements/s, 10,000 VMs over 1,000 synthetic nodes: %10.0f\n", scheduler.PlacementRate(1000, 10000))
	}
	if only.runs("contention") {
		// ContentionBenchmark prints its own tables.
		if _, err := ContentionBenchmark(context.Background(), 10*time.Second); errors.Is(err, cgroup.ErrNotSupported) {
			fmt.Println("== CPU guarantee under contention: skipped:", err)
		} else if err != nil {
			return fmt.Errorf("contention: %w", err)
		}
	}
	if only.runs("imports") {
		if err := importBench(bin, filepath.Join(dir, "imports")); err != nil {
			return fmt.Errorf("imports: %w", err)
		}
	}
	return nil
}

func raftBench(bin, dir string, d time.Duration, clients int) error {
	fmt.Println("== Raft writes, single node ==")
	httpRate, size, err := httpWrites(bin, filepath.Join(dir, "agent"), d, clients)
	if err != nil {
		return fmt.Errorf("http writes: %w", err)
	}
	nodes, leader, err := startBareCluster(filepath.Join(dir, "bare1"), 1)
	if err != nil {
		return fmt.Errorf("bare raft: %w", err)
	}
	bareRate := bareApplies(leader, size, clients, d)
	for _, n := range nodes {
		n.close()
	}
	fmt.Printf("davit HTTP API writes/s (%d clients):   %10.0f\n", clients, httpRate)
	fmt.Printf("bare hashicorp/raft applies/s (%d B):  %10.0f\n", size, bareRate)
	fmt.Printf("ratio davit/bare:                       %10.2f\n", httpRate/bareRate)

	fmt.Println("== Raft writes, three nodes on loopback ==")
	httpRate, size, err = clusterWrites(bin, filepath.Join(dir, "cluster"), d, clients)
	if err != nil {
		return fmt.Errorf("3-node http writes: %w", err)
	}
	nodes, leader, err = startBareCluster(filepath.Join(dir, "bare3"), 3)
	if err != nil {
		return fmt.Errorf("bare raft 3 nodes: %w", err)
	}
	bareRate = bareApplies(leader, size, clients, d)
	for _, n := range nodes {
		n.close()
	}
	fmt.Printf("davit HTTP API writes/s, 3 nodes:       %10.0f\n", httpRate)
	fmt.Printf("bare hashicorp/raft applies/s, 3 nodes: %10.0f\n", bareRate)
	fmt.Printf("ratio davit/bare:                       %10.2f\n", httpRate/bareRate)

	return nil
}
